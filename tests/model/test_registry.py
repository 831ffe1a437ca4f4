"""Model registry: register, current, promote, rollback, prune, atomic json."""

import json

import pytest

from _tiny_model import copy_model
from trust_tagger.config import load_settings
from trust_tagger.model import registry as registry


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUST_TAGGER_HOME", str(tmp_path))
    monkeypatch.delenv("TRUST_TAGGER_CONFIG", raising=False)
    return load_settings(model_dir=str(tmp_path / "models"))


def test_lifecycle(model_root, settings):
    root = settings.path(settings.model_dir)
    assert registry.current(settings) is None
    with pytest.raises(registry.RegistryError):
        registry.load_current(settings)
    for v in ("v1", "v2", "v3"):
        copy_model(model_root, root / v)
    e1 = registry.register(root / "v1", settings)
    assert e1["id"] == "v1" and registry.current(settings) == "v1"  # the first model becomes current
    registry.register(root / "v2", settings)
    assert registry.current(settings) == "v1"  # later ones wait for promotion
    assert registry.show("v2", settings)["parent"] == "v1"
    registry.promote("v2", settings)
    assert registry.current(settings) == "v2"
    assert registry.rollback(settings)["id"] == "v1"
    assert registry.current(settings) == "v1"
    registry.register(root / "v3", settings, make_current=True)
    assert registry.next_version(settings) == "v4"
    assert [v["id"] for v in registry.list_versions(settings)] == ["v1", "v2", "v3"]
    m = registry.load_current(settings)
    assert m.version == "v3"
    removed = registry.prune(1, settings)
    assert removed == ["v2", "v1"] and not (root / "v1").exists() and (root / "v3").exists()
    data = json.loads((root / "registry.json").read_text())
    assert [v["id"] for v in data["versions"]] == ["v3"] and data["versions"][0]["current"]
    with pytest.raises(registry.RegistryError):
        registry.register(root / "v3", settings)


def test_promote_refuses_a_corrupted_model(model_root, settings):
    root = settings.path(settings.model_dir)
    copy_model(model_root, root / "v1")
    copy_model(model_root, root / "v2")
    registry.register(root / "v1", settings)
    registry.register(root / "v2", settings)
    (root / "v2" / "calibration.json").write_text("{}")
    from trust_tagger.model.artifacts import ModelIntegrityError

    with pytest.raises(ModelIntegrityError, match="calibration.json"):
        registry.promote("v2", settings)
    assert registry.current(settings) == "v1"
    with pytest.raises(registry.RegistryError, match="no model version"):
        registry.show("v9", settings)


def test_annotate(model_root, settings):
    root = settings.path(settings.model_dir)
    copy_model(model_root, root / "v1")
    registry.register(root / "v1", settings)
    registry.annotate("v1", settings, gate={"promote": True})
    assert registry.show("v1", settings)["gate"] == {"promote": True}
    with pytest.raises(registry.RegistryError):
        registry.annotate("v1", settings, current=False)


def test_a_copied_registry_loads_and_verifies_its_own_copy(model_root, tmp_path, monkeypatch):
    """TRUST_TAGGER_MODEL_DIR pointing at a copy of models/: the copy's files are loaded and checked, so a
    corrupt copy fails (it used to load <project>/models/v1, the intact original, and exit 0)."""
    import shutil

    from trust_tagger.model.artifacts import ModelIntegrityError

    monkeypatch.setenv("TRUST_TAGGER_HOME", str(tmp_path))
    monkeypatch.delenv("TRUST_TAGGER_CONFIG", raising=False)
    monkeypatch.delenv("TRUST_TAGGER_MODEL_DIR", raising=False)
    project = load_settings()
    original = project.path(project.model_dir)
    copy_model(model_root, original / "v1")
    registry.register(original / "v1", project)
    shutil.copytree(original, tmp_path / "elsewhere" / "models")
    monkeypatch.setenv("TRUST_TAGGER_MODEL_DIR", str(tmp_path / "elsewhere" / "models"))
    moved = load_settings()

    assert registry.model_path("v1", moved) == tmp_path / "elsewhere" / "models" / "v1"
    assert registry.load_current(moved).version == "v1"
    (tmp_path / "elsewhere" / "models" / "v1" / "calibration.json").write_text("{}")
    with pytest.raises(ModelIntegrityError, match="elsewhere"):
        registry.load_current(moved)
    assert registry.load_current(project).version == "v1"  # the original is untouched and still loads


def test_paths_of_an_old_registry_follow_it_when_it_moves(tmp_path, monkeypatch):
    """Registries written before paths were registry-relative (no "format") said "models/v1"."""
    monkeypatch.setenv("TRUST_TAGGER_HOME", str(tmp_path / "project"))
    monkeypatch.delenv("TRUST_TAGGER_CONFIG", raising=False)
    moved = tmp_path / "copy"
    moved.mkdir()
    (moved / registry.REGISTRY_FILE).write_text(json.dumps({"versions": [
        {"id": "v1", "path": "models/v1", "current": True},
        {"id": "v2", "path": "outside/v2", "current": False},
        {"id": "v3", "path": str(tmp_path / "abs" / "v3"), "current": False}], "promotions": []}))
    s = load_settings(model_dir=str(moved))

    assert registry.model_path("v1", s) == moved / "v1"
    assert registry.model_path("v2", s) == tmp_path / "project" / "outside" / "v2"  # registered from outside
    assert registry.model_path("v3", s) == tmp_path / "abs" / "v3"
    registry.annotate("v1", s, note="x")  # any change rewrites the paths registry-relative
    data = json.loads((moved / registry.REGISTRY_FILE).read_text())
    assert data["format"] == registry.FORMAT and data["versions"][0]["path"] == "v1"
    assert registry.model_path("v2", s) == tmp_path / "project" / "outside" / "v2"
