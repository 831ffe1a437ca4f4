"""A two-week replay end to end on the tiny model: start model, nights through run_nightly, the oracle's
weekly review through the decision path, a heads update through retrain(), the frozen replay, the
tf-idf baselines and the report.

The labels are the real ones, thinned (a quarter of the sampled annotations, the whole list and the
dense file) so the start model trains in seconds; the window is 2026-02-01..14 (202 feed papers).
"""

import datetime as dt
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from _tiny_model import tiny_base_model, tiny_config
from conftest import ROOT
from trust_tagger.config import Settings
from trust_tagger.files import iter_jsonl
from trust_tagger.model import registry
from trust_tagger.retrain.dataset import list_labels, load_pool
from trust_tagger.simulate.run import SimulationConfig, simulate
from trust_tagger.simulate.workspace import SimulationError, start_model

SINCE, UNTIL, BUDGET = dt.date(2026, 2, 1), dt.date(2026, 2, 14), 6
POOL = ROOT / "data" / "raw" / "arxiv-audio-papers.jsonl.gz"


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def sim(tmp_path_factory, model_root):
    from threadpoolctl import threadpool_limits

    mp = pytest.MonkeyPatch()
    mp.setenv("TRUST_TAGGER_THREADS", "1")
    tmp = tmp_path_factory.mktemp("simulate")
    labeled = tmp / "labeled"
    labeled.mkdir()
    lines = (ROOT / "data" / "labeled" / "annotations.jsonl").read_text().splitlines(keepends=True)
    (labeled / "annotations.jsonl").write_text("".join(lines[::4]))
    dense = sorted((ROOT / "data" / "labeled").glob("annotations-dense-*.jsonl"))
    for path in dense:
        (labeled / path.name).write_bytes(path.read_bytes())
    base = tiny_base_model(model_root)
    overrides = {k: v for k, v in asdict(tiny_config(base)).items() if k != "base_model"}
    settings = Settings(root=tmp, list_dir=ROOT / "data" / "awesome-list", labeled_dir=labeled, snapshot_path=POOL,
                        model_dir=tmp / "models", reports_dir=tmp / "reports", db_url=f"sqlite:///{tmp / 'db.sqlite'}")
    cfg = SimulationConfig(since=SINCE, until=UNTIL, review_budget=BUDGET, retrain="monthly", update="heads",
                           base_model=base, overrides=overrides, work_dir=tmp / "work", sim_id="test")
    real = {"list": tree_digest(ROOT / "data" / "awesome-list"), "labeled": tree_digest(labeled)}
    nights = []
    with threadpool_limits(limits=1, user_api="blas"):
        result = simulate(settings, cfg, advance=nights.append)
    yield {"result": result, "settings": settings, "cfg": cfg, "tmp": tmp, "real": real, "nights": nights,
           "out": Path(result["dir"]), "work": tmp / "work"}
    mp.undo()


def test_the_report_has_the_table_the_week_rows_and_the_curves(sim):
    out = sim["out"]
    assert out == sim["tmp"] / "reports" / "simulate-test"
    md = (out / "report.md").read_text()
    for heading in ("## Results", "## A maintainer's week", "## Week by week: loop", "## Week by week: frozen",
                    "## Core AP by month", "![recall against papers reviewed](recall.png)"):
        assert heading in md
    for name in ("loop", "frozen", "tfidf-AL, 6/week", "tfidf-AL, whole pool"):
        assert f"| {name} |" in md
    for png in ("recall.png", "weekly.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = json.loads((out / "weeks-loop.json").read_text())
    csv_lines = (out / "weeks-loop.csv").read_text().splitlines()
    assert len(rows) == 2 and len(csv_lines) == 3 and csv_lines[0].startswith("week,start,end,papers_in,merged")
    assert json.loads((out / "summary.json").read_text())["figures"]["loop"]["papers"] > 0
    assert len(sim["nights"]) == 2 * 14  # one progress step per night and replay


def test_every_night_ran_through_the_nightly_path_and_the_real_project_is_untouched(sim):
    work = sim["work"]
    for name in ("loop", "frozen"):
        reports = [json.loads(p.read_text()) for p in (work / name / "reports").glob("*-snapshot/report.json")]
        assert sorted(r["since"] for r in reports) == [(SINCE + dt.timedelta(days=i)).isoformat() for i in range(14)]
        assert all(r["since"] == r["until"] for r in reports)
    assert tree_digest(ROOT / "data" / "awesome-list") == sim["real"]["list"]
    assert tree_digest(sim["settings"].labeled_dir) == sim["real"]["labeled"]
    assert not (sim["tmp"] / "models").exists() and not (sim["tmp"] / "db.sqlite").exists()


def test_week_accounting_adds_up(sim):
    result = sim["result"]
    for name in ("loop", "frozen"):
        rows = json.loads((sim["out"] / f"weeks-{name}.json").read_text())
        backlog = 0
        for r in rows:
            assert r["reviewed"] == min(BUDGET, backlog + r["queued"])
            assert sum(r["review_actions"].values()) == r["reviewed"]
            deferred = r["review_actions"].get("defer", 0)
            backlog = backlog + r["queued"] - r["reviewed"] + deferred
            assert r["backlog"] == backlog
            assert r["merged"] == r["merged_core"] + r["merged_adjacent"] + r["merged_out_of_scope"]
        f = result["figures"][name]
        assert f["reviews"] == sum(r["reviewed"] for r in rows)
        assert f["backlog_end"] == rows[-1]["backlog"]
        assert f["merges"] == sum(r["merged"] for r in rows)
    # same start model, same first week: the frozen replay and the loop only part after the first update
    loop, frozen = (json.loads((sim["out"] / f"weeks-{n}.json").read_text()) for n in ("loop", "frozen"))
    assert loop[0]["queued"] == frozen[0]["queued"] and loop[0]["reviewed"] == frozen[0]["reviewed"]
    assert {r["model_version"] for r in frozen} == {"v1"}


def test_oracle_decisions_become_labels_and_the_heads_update_faced_the_gate(sim):
    work, result = sim["work"], sim["result"]
    (update,) = result["updates"]["loop"]
    assert update["week"] == 0 and update["kind"] == "heads" and update["verdict"] in ("promoted", "kept")
    assert update["candidate"] == "v2" and update["reasons"]
    decisions = [obj for _, obj in iter_jsonl(work / "loop" / "labeled" / "decisions.jsonl")]
    assert len(decisions) == BUDGET - json.loads((sim["out"] / "weeks-loop.json").read_text())[0]["review_actions"] \
        .get("defer", 0)  # the week-1 review, exported by the retrain that followed it
    assert {d["reviewer"] for d in decisions} == {"oracle"}
    loop_settings = Settings(root=sim["tmp"], model_dir=work / "loop" / "models")
    entry = registry.show("v2", loop_settings)
    meta = json.loads((registry.model_path("v2", loop_settings) / "tagger.json").read_text())
    assert meta["update"] == {"kind": "heads", "from": "v1"} and entry["gate"]["promote"] == (update["verdict"] == "promoted")
    week2 = json.loads((sim["out"] / "weeks-loop.json").read_text())[1]["model_version"]
    assert week2 == ("v2" if update["verdict"] == "promoted" else "v1")


def test_start_model_knows_only_labels_from_before_since_and_is_reused(sim):
    work, settings, cfg = sim["work"], sim["settings"], sim["cfg"]
    pool = load_pool(POOL)
    start_dir = work / "start-model"
    meta = json.loads((start_dir / "tagger.json").read_text())
    listed = set(list_labels(settings.list_dir, pool))  # the list as bundled (2026-01-19)
    later = [k for k in meta["train_keys"] if str(pool[k]["date"])[:10] >= SINCE.isoformat()]
    assert len(meta["train_keys"]) > 100 and set(later) <= listed  # only list papers revised since then
    assert not any(p.name.startswith("annotations-dense") for p in (work / "start" / "labeled").iterdir())
    again = start_model(settings, work, SINCE, pool, base_model=cfg.base_model, overrides=cfg.overrides)
    assert not again.trained and again.path == start_dir and again.data_hash == meta["training_data_hash"]
    with pytest.raises(SimulationError, match="trained on other labels"):
        start_model(settings, work, dt.date(2026, 1, 15), pool, base_model=cfg.base_model, overrides=cfg.overrides,
                    given=start_dir)


def test_figures_follow_from_the_traces(sim):
    result = sim["result"]
    loop = json.loads((sim["out"] / "replay-loop.json").read_text())
    papers = [p for p in loop["papers"] if p["label"] is not None and p["decision"] is not None]
    f = result["figures"]["loop"]
    assert f["papers"] == len(papers) and f["targets"] == sum(p["label"] == 2 for p in papers)
    on_list = [p for p in papers if p["merged"]]
    assert f["core_recall"] == pytest.approx(sum(p["label"] == 2 for p in on_list) / f["targets"])
    assert f["false_merges"] == sum(p["label"] != 2 and p["review_action"] is None for p in on_list)
    assert 0 <= f["wss95"] + 0.05 <= 1 and f["reviews_to_95"] >= f["reviews"] * f["reached_95_in_replay"]
    assert all(p["status"] != "accepted" or p["merged"] for p in papers)  # the last week's accepts were merged
