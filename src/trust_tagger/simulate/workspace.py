"""The scratch project a replay runs in, and the start model trained only on what was known before it.

Nothing of the real project is written: every replay gets its own copy of the list, its own store,
registry, reports and labeled folder, so the real nightly path (which reads and writes all of
those through ``Settings``) runs unchanged. The start model sees the list as bundled (2026-01-19)
plus the sampled annotations of papers dated before ``--since``; dense files are the oracle's and
maintainers' real decisions come later than the replay's start, so neither is copied.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from trust_tagger.config import Settings
from trust_tagger.errors import UserError
from trust_tagger.files import BadLine, atomic_write_text, iter_jsonl
from trust_tagger.ids import parse_arxiv_id


class SimulationError(UserError, RuntimeError):
    """A replay that cannot run as asked (a start model trained on other labels, an empty window)."""


@dataclass
class StartModel:
    path: Path
    data_hash: str
    trained: bool  # False: reused (same labels, same training settings)
    seconds: float
    counts: dict


def start_labels(settings: Settings, since: dt.date, pool: dict[str, dict], out_dir: Path) -> dict[str, int]:
    """Copy the sampled annotation files, keeping the lines of papers dated before ``since``.

    A paper's date is its pool date (its newest version): a paper revised after ``since`` is left out,
    the cautious side. Returns {file name: lines kept}.
    """
    from trust_tagger.retrain.dataset import annotation_files, annotation_source

    out_dir.mkdir(parents=True, exist_ok=True)
    kept: dict[str, int] = {}
    for path in annotation_files(settings.path(settings.labeled_dir)):
        if annotation_source(path) == "dense":
            continue
        lines = []
        for _, obj in iter_jsonl(path):
            if isinstance(obj, BadLine) or not isinstance(obj, dict):
                continue  # the dataset builder reports bad lines of the real file; a copy need not keep them
            parsed = parse_arxiv_id(str(obj.get("arxiv_id") or ""))
            rec = pool.get(f"arxiv:{parsed.id}") if parsed else None
            if rec is not None and str(rec.get("date") or "")[:10] >= since.isoformat():
                continue
            lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
        atomic_write_text(out_dir / path.name, "".join(lines))
        kept[path.name] = len(lines)
    return kept


def start_settings(settings: Settings, work: Path) -> Settings:
    return dataclasses.replace(settings, labeled_dir=work / "start" / "labeled", model_dir=work / "start" / "models",
                               reports_dir=work / "start" / "reports")


def start_model(settings: Settings, work: Path, since: dt.date, pool: dict[str, dict], *,
                base_model: str | None, overrides: dict, given: Path | None = None,
                log: Callable[[str], None] = print) -> StartModel:
    """Train the start model on the pre-``since`` labels, or reuse one trained on exactly those labels.

    ``given`` (``--start-model``) must have been trained on the same data (its ``training_data_hash``);
    a model already in ``work/start-model`` with that hash and the same training settings is reused,
    so re-running a simulation in the same work folder does not train it twice.
    """
    from trust_tagger.retrain.dataset import build_dataset
    from trust_tagger.retrain.train import train_version

    s = start_settings(settings, work)
    start_labels(settings, since, pool, s.path(s.labeled_dir))
    ds = build_dataset(s.path(s.list_dir), s.path(s.labeled_dir), pool)
    if not ds.split("validation") or not ds.split("train"):
        raise SimulationError(f"no labels before {since}: the start model has nothing to learn from")
    # As JSON reads it back (tuples become lists), so a stored recipe compares equal to today's.
    recipe = json.loads(json.dumps({"base_model": base_model or settings.base_model, "overrides": overrides}))
    candidates = [Path(given)] if given is not None else [work / "start-model"]
    for path in candidates:
        meta_path = path / "tagger.json"
        if not meta_path.exists():
            if given is not None:
                raise SimulationError(f"{path}: not a model folder (no tagger.json)")
            continue
        meta = json.loads(meta_path.read_text())
        if meta.get("training_data_hash") != ds.data_hash:
            if given is not None:
                raise SimulationError(f"{path} was trained on other labels (data hash "
                                      f"{str(meta.get('training_data_hash'))[:12]}, the labels before {since} hash "
                                      f"{ds.data_hash[:12]}): its figures would not be a replay's")
            continue
        if given is None and meta.get("simulate_recipe") != recipe:
            continue
        log(f"start model: reusing {path} (trained on the {len(ds.examples)} labels before {since})")
        return StartModel(path, ds.data_hash, False, 0.0, ds.counts())
    out = work / "start-model"
    if out.exists():
        shutil.rmtree(out)
    log(f"start model: training on {len(ds.examples)} labels before {since} "
        f"(train {len(ds.split('train'))}, validation {len(ds.split('validation'))})")
    result = train_version(s, base_model=base_model, output=out, register_model=False, log=log,
                           config_overrides=overrides or None)
    _stamp(out, {"simulate_recipe": recipe})
    return StartModel(out, ds.data_hash, True, result.seconds, ds.counts())


def _stamp(model_dir: Path, fields: dict) -> None:
    """Add fields to a saved model's tagger.json and refresh its manifest."""
    from trust_tagger.files import atomic_write_json
    from trust_tagger.model.artifacts import TAGGER_JSON, write_manifest

    meta = json.loads((model_dir / TAGGER_JSON).read_text())
    meta.update(fields)
    atomic_write_json(model_dir / TAGGER_JSON, meta)
    write_manifest(model_dir)


def variant_settings(settings: Settings, work: Path, name: str) -> Settings:
    """A fresh scratch project for one replay: list copy, store, registry, reports, labeled folder."""
    root = work / name
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(settings.path(settings.list_dir), root / "list")
    shutil.copytree(work / "start" / "labeled", root / "labeled")
    return dataclasses.replace(settings, list_dir=root / "list", labeled_dir=root / "labeled",
                               model_dir=root / "models", reports_dir=root / "reports",
                               db_url=f"sqlite:///{root / 'store.db'}")
