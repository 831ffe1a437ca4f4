import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["prefect_server"]  # the prefect_api and project_home fixtures


@pytest.fixture
def list_copy(tmp_path) -> Path:
    """A writable copy of the bundled list (2026-01-19 layout)."""
    dst = tmp_path / "awesome-list"
    shutil.copytree(ROOT / "data" / "awesome-list", dst)
    return dst


@pytest.fixture
def store(tmp_path):
    from trust_tagger.store.store import Store

    return Store(f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture
def seeded(store):
    """A store holding the review fixtures' papers, routed the way the pipeline routes them."""
    from review_fixtures import seed

    seed(store)
    return store


@pytest.fixture
def index(list_copy):
    from trust_tagger.listfile.index import load_list_index

    return load_list_index(list_copy)


@pytest.fixture(scope="session")
def model_root(tmp_path_factory):
    """Where the tiny test model is trained once per session (see _tiny_model.py)."""
    return str(tmp_path_factory.getbasetemp() / "tiny")


# The quick loop is `pytest -m "not slow"`: training the tiny model, Prefect's server and the browser
# are what take the suite's time, so every test that needs one of them is marked slow here.
SLOW_FIXTURES = {"model_root", "prefect_harness", "prefect_api", "project_home"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
