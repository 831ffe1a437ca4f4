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
