"""``retrain(update="heads")``: the cheap candidate goes through the same retrain as a fine-tune (the
two-week replay in tests/simulate drives one to the gate on the tiny model)."""

import pytest

from conftest import ROOT
from trust_tagger.config import Settings
from trust_tagger.model.registry import RegistryError
from trust_tagger.retrain.loop import retrain
from trust_tagger.store.store import Store


def test_a_heads_update_needs_a_current_model(tmp_path):
    """``retrain(update="heads")`` refits the current model; with none it says so instead of training."""
    settings = Settings(root=tmp_path, list_dir=ROOT / "data" / "awesome-list", labeled_dir=tmp_path / "labeled",
                        snapshot_path=ROOT / "data" / "raw" / "arxiv-audio-papers.jsonl.gz",
                        model_dir=tmp_path / "models", reports_dir=tmp_path / "reports",
                        db_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    store = Store(settings.resolved_db_url)
    with pytest.raises(ValueError, match="unknown update"):
        retrain(settings, store, update="encoder", log=lambda s: None)
    with pytest.raises(RegistryError, match="no current model|there is none"):
        retrain(settings, store, update="heads", log=lambda s: None)
