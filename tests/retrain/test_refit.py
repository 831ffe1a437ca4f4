"""``train_version(refit=True)``: the recipe fitted again on train + the temporal holdout, with the
first model's figures kept as the pre-refit ones."""

import dataclasses
import gzip
import json

import pytest

from _tiny_model import synthetic_examples, tiny_base_model, tiny_config


def _project(tmp_path, monkeypatch, model_root, exs, dates: dict | None = None):
    """A project of these labels: annotations, plus a dense file for the papers ``dates`` puts in March
    or later; returns (TrainConfig overrides, base model)."""
    dates = dates or {e.arxiv_id: e.date for e in exs}
    with gzip.open(tmp_path / "pool.jsonl.gz", "wt") as fh:
        for e in exs:
            fh.write(json.dumps({"arxiv_id": e.arxiv_id, "title": e.title, "abstract": e.abstract,
                                 "categories": ["cs.SD"], "date": dates[e.arxiv_id]}) + "\n")
    labeled = tmp_path / "labeled"
    labeled.mkdir()

    def lines(keep):
        return "".join(json.dumps({"arxiv_id": e.arxiv_id, "relevance": e.relevance, "categories": e.categories,
                                   "subcategories": e.subcategories, "date": dates[e.arxiv_id]}) + "\n"
                       for e in exs if keep(dates[e.arxiv_id]))

    (labeled / "annotations.jsonl").write_text(lines(lambda d: d < "2026-03"))
    dense = lines(lambda d: d >= "2026-03")
    if dense:
        (labeled / "annotations-dense-2026-03-04.jsonl").write_text(dense)
    for name, value in (("HOME", tmp_path), ("MODEL_DIR", tmp_path / "models"), ("LIST_DIR", tmp_path / "no-list"),
                        ("LABELED_DIR", labeled), ("SNAPSHOT_PATH", tmp_path / "pool.jsonl.gz"),
                        ("REPORTS_DIR", tmp_path / "reports")):
        monkeypatch.setenv(f"TRUST_TAGGER_{name}", str(value))
    monkeypatch.delenv("TRUST_TAGGER_CONFIG", raising=False)
    base = tiny_base_model(model_root)
    return {k: v for k, v in dataclasses.asdict(tiny_config(base)).items() if k != "base_model"}, base


@pytest.fixture
def temporal_project(tmp_path, monkeypatch, model_root):
    """Sampled labels of January, dense labels of March (validation) and April (holdout)."""
    exs = synthetic_examples(120, seed=5)
    dates = {e.arxiv_id: ("2026-01-10", "2026-03-10", "2026-04-10")[i % 3] for i, e in enumerate(exs)}
    return _project(tmp_path, monkeypatch, model_root, exs, dates)


def _holdout_keys():
    return {e.key for i, e in enumerate(synthetic_examples(120, seed=5)) if i % 3 == 2}


def _keys(path):
    return set(json.loads((path / "tagger.json").read_text())["train_keys"])


def test_refit_trains_on_the_holdout_too_and_keeps_the_first_models_figures(temporal_project, tmp_path):
    from trust_tagger.config import load_settings
    from trust_tagger.retrain.dataset import split_of
    from trust_tagger.retrain.train import summary_lines, train_version

    overrides, base = temporal_project
    settings = load_settings()
    plain = train_version(settings, base_model=base, config_overrides=overrides, output=tmp_path / "plain",
                          register_model=False, log=lambda s: None)
    assert plain.metrics["protocol"] == "temporal" and "pre_refit" not in plain.metrics
    holdout_n = plain.metrics["holdout"]["n"]
    assert holdout_n > 0

    logs = []
    refit = train_version(settings, base_model=base, config_overrides=overrides, output=tmp_path / "refit",
                          register_model=False, refit=True, log=logs.append)
    m = refit.metrics
    assert "holdout" not in m  # the shipped model trained on it: no honest holdout figure
    assert m["pre_refit"]["holdout"]["n"] == holdout_n
    assert m["pre_refit"]["test"] == {}  # the first model never faces the gate: no frozen-test pass
    assert m["pre_refit"]["validation"]["n"] == m["validation"]["n"] == plain.metrics["validation"]["n"]
    assert m["test"]["n"] == plain.metrics["test"]["n"]
    added = _keys(refit.path) - _keys(plain.path)
    test_keys = {e.key for e in synthetic_examples(120, seed=5) if split_of(e.key) == "test"}
    assert added and not added & test_keys  # the frozen test split never trains, refit or not
    assert len(added) == m["refit"]["added_from_holdout"] == holdout_n - len(test_keys & _holdout_keys())
    assert _keys(plain.path) <= _keys(refit.path)
    assert any(line.startswith("refit:") for line in logs)
    lines = summary_lines(refit)
    assert lines[0].startswith("before the refit, temporal holdout") and "no holdout figure" in lines[1]


def test_refit_is_a_no_op_without_a_temporal_holdout(tmp_path, monkeypatch, model_root):
    from trust_tagger.config import load_settings
    from trust_tagger.retrain.train import train_version

    overrides, base = _project(tmp_path, monkeypatch, model_root, synthetic_examples(60, seed=6))
    res = train_version(load_settings(), base_model=base, config_overrides=overrides, output=tmp_path / "m",
                        register_model=False, refit=True, log=lambda s: None)
    assert res.metrics["protocol"] == "hashed" and "refit" not in res.metrics and "pre_refit" not in res.metrics
