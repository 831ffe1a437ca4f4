"""The classify contract and the model verbs through the CLI."""

import json

import pytest
import typer
from typer.testing import CliRunner

from _tiny_model import copy_model
from trust_tagger.cli import model as cli_model
from trust_tagger.cli.errors import wrap_commands
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUST_TAGGER_HOME", str(tmp_path))
    monkeypatch.setenv("TRUST_TAGGER_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("TRUST_TAGGER_CONFIG", raising=False)
    a = typer.Typer()
    cli_model.register(a)
    wrap_commands(a)
    return a


def test_classify_contract_skips_malformed_lines(app, model_root, tmp_path):
    model = copy_model(model_root, tmp_path / "m")
    inp = tmp_path / "papers.jsonl"
    inp.write_text("\n".join([
        json.dumps({"arxiv_id": "2601.00001", "title": "Jailbreak attacks on audio LLMs",
                    "abstract": "We jailbreak audio language models.", "categories": ["cs.SD"]}),
        "{not json",
        json.dumps({"arxiv_id": "2601.00002", "title": "", "abstract": "no title"}),
        json.dumps({"arxiv_id": "arXiv:2601.00003v2", "title": "Codec", "abstract": "A neural audio codec."}),
    ]) + "\n")
    out = tmp_path / "pred.jsonl"
    res = CliRunner().invoke(app, ["classify", "--input", str(inp), "--output", str(out), "--model", str(model)])
    assert res.exit_code == 0, res.output
    assert "line 2" in res.output and "line 3" in res.output and "skipped 2" in res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["arxiv_id"] for r in rows] == ["2601.00001", "2601.00003"]
    for r in rows:
        assert set(r) == {"arxiv_id", "relevance", "core", "relevance_class", "labels", "categories",
                          "subcategories", "policy", "decision", "model_version"}  # core + policy: issue 9
        assert 0 <= r["relevance"] <= 1 and r["relevance_class"] in (0, 1, 2)
        assert 0 <= r["core"] <= r["relevance"] + 1e-6 and r["policy"] == "core"
        assert list(r["categories"]) == list(CATEGORIES) and list(r["subcategories"]) == list(SUBCATEGORIES)
        assert set(r["labels"]) <= set(CATEGORIES) and r["decision"] in ("accept", "review", "reject")
        assert r["model_version"] == "v1"


def test_classify_skips_every_poisoned_line_with_its_number(app, model_root, tmp_path):
    """One bad line never stops ``classify``: infinity and 4,000-digit versions, 100,000-deep JSON, lone
    surrogates (they used to reach the tokenizer), invalid UTF-8 (reported, not replaced)..."""
    from poisoned_lines import POISON

    model = copy_model(model_root, tmp_path / "m")
    good = json.dumps({"arxiv_id": "2601.00001", "title": "Jailbreak attacks on audio LLMs",
                       "abstract": "We jailbreak audio language models."}).encode()
    inp = tmp_path / "papers.jsonl"
    inp.write_bytes(b"\n".join([good, *(line for _, line, _ in POISON), good.replace(b"00001", b"00009")]) + b"\n")
    out = tmp_path / "pred.jsonl"
    res = CliRunner().invoke(app, ["classify", "--input", str(inp), "--output", str(out), "--model", str(model)])
    assert res.exit_code == 0, res.output
    assert f"skipped {len(POISON)} malformed" in res.output
    shown = " ".join(res.output.split())
    for n, (name, _, reason) in enumerate(POISON, 2):
        assert f"skipped line {n}: {reason}" in shown, name
    assert [json.loads(line)["arxiv_id"] for line in out.read_text().splitlines()] == ["2601.00001", "2601.00009"]


def test_classify_without_model_fails_clearly(app, tmp_path):
    inp = tmp_path / "p.jsonl"
    inp.write_text("{}\n")
    res = CliRunner().invoke(app, ["classify", "--input", str(inp), "--output", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 2 and "train" in res.output


def test_models_verbs_and_help(app, model_root, tmp_path):
    from trust_tagger.config import load_settings
    from trust_tagger.model import registry as registry

    root = tmp_path / "models"
    copy_model(model_root, root / "v1")
    copy_model(model_root, root / "v2")
    s = load_settings()
    registry.register(root / "v1", s)
    registry.register(root / "v2", s)
    r = CliRunner()
    out = r.invoke(app, ["models", "list"]).output
    assert "v1 *" in out and "v2" in out
    assert r.invoke(app, ["models", "promote", "v2"]).exit_code == 0
    assert registry.current(s) == "v2"
    assert "v1 is now current" in r.invoke(app, ["models", "rollback"]).output
    assert r.invoke(app, ["models", "show", "v9"]).exit_code == 1
    assert "removed nothing" in r.invoke(app, ["models", "prune", "--keep", "1"]).output  # newest + current stay
    for verb in (["train"], ["classify"], ["evaluate"], ["build-dataset"], ["models", "list"], ["models", "prune"]):
        res = r.invoke(app, [*verb, "--help"])
        assert res.exit_code == 0 and "Usage" in res.output, verb


def test_train_build_dataset_evaluate_end_to_end(app, model_root, tmp_path, monkeypatch):
    """`train` on a tiny BERT and synthetic labels: model folder, registry entry, report."""
    import gzip

    from _tiny_model import synthetic_examples, tiny_base_model
    from trust_tagger.config import load_settings
    from trust_tagger.model import registry as registry

    exs = synthetic_examples(90, seed=3)
    pool = tmp_path / "pool.jsonl.gz"
    with gzip.open(pool, "wt") as fh:
        for e in exs:
            fh.write(json.dumps({"arxiv_id": e.arxiv_id, "title": e.title, "abstract": e.abstract,
                                 "categories": ["cs.SD"], "date": e.date}) + "\n")
    labeled = tmp_path / "labeled"
    labeled.mkdir()
    (labeled / "annotations.jsonl").write_text("".join(json.dumps(
        {"arxiv_id": e.arxiv_id, "relevance": e.relevance, "categories": e.categories,
         "subcategories": e.subcategories}) + "\n" for e in exs))
    for name, value in (("LIST_DIR", tmp_path / "no-list"), ("LABELED_DIR", labeled), ("SNAPSHOT_PATH", pool),
                        ("BASE_MODEL", tiny_base_model(model_root)), ("REPORTS_DIR", tmp_path / "reports")):
        monkeypatch.setenv(f"TRUST_TAGGER_{name}", str(value))
    r = CliRunner()
    res = r.invoke(app, ["build-dataset"])
    assert res.exit_code == 0 and (labeled / "dataset.jsonl").exists(), res.output
    res = r.invoke(app, ["train", "--epochs", "1", "--max-length", "32"])
    assert res.exit_code == 0, res.output
    assert "model v1 saved" in res.output and "registered as current" in res.output
    s = load_settings()
    assert registry.current(s) == "v1" and (tmp_path / "models" / "v1" / "metrics.json").exists()
    res = r.invoke(app, ["evaluate"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "reports" / "eval-v1" / "report.md").exists()
    assert (tmp_path / "reports" / "eval-v1" / "pr_test.png").exists()
