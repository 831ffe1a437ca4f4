"""Weekly retraining on what maintainers corrected, behind a gate that keeps the better model.

gather labels (review decisions exported next to the list and annotations) → build the dataset (the
split is a hash of the paper key, so the frozen test split never moves) → score the current model on
the frozen test papers → train and register a candidate (never current by itself; scored on the same
papers) → ``gate`` → promote or keep → record why in the registry entry and in ``reports/retrain-<ts>/``.

Each step is a plain function; :func:`retrain` threads them through ``run_step`` so the Prefect flow
(``flows/retrain.py``) can run every step as a task without a second copy of the composition.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trust_tagger.config import Settings
from trust_tagger.files import atomic_write_json, atomic_write_text
from trust_tagger.retrain.dataset import Dataset, Example
from trust_tagger.retrain.promotion import ECE, MACRO_F1, RELEVANCE_AP, GateDecision, GatePolicy, gate
from trust_tagger.store.store import Store

LAST_DECISION_MARK = "retrain:last_decision_id"  # meta: the newest audit-log row the last retrain saw
UPDATES = ("full", "heads")  # fine-tune the whole network, or refit heads + tf-idf + calibration (model.update)
StepRunner = Callable[..., Any]


def _call(fn: Callable, *args, **kwargs):
    return fn(*args, **kwargs)


@dataclass
class RetrainResult:
    """What one retrain did. ``skipped`` says why no candidate was trained (labels unchanged)."""

    promoted: bool
    previous: str | None
    current: str | None
    candidate: str | None = None
    decision: GateDecision | None = None
    candidate_metrics: dict = field(default_factory=dict)
    current_metrics: dict | None = None
    data: dict = field(default_factory=dict)
    skipped: str | None = None
    report_dir: str = ""
    seconds: float = 0.0
    update: str = "full"

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "skipped"
        return "promoted" if self.promoted else "kept"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["verdict"] = self.verdict
        return out


# -- when to retrain ------------------------------------------------------------------------------
def new_decisions(store: Store) -> tuple[int, int]:
    """(label-carrying decisions since the last retrain, newest decision id)."""
    from trust_tagger.review.decisions import LABEL_ACTIONS

    return store.decision_counts(int(store.get_meta(LAST_DECISION_MARK, "0")), LABEL_ACTIONS)


def should_retrain(store: Store, settings: Settings) -> bool:
    """True once ``settings.retrain_min_decisions`` new maintainer labels arrived since the last retrain."""
    return new_decisions(store)[0] >= settings.retrain_min_decisions


# -- steps ----------------------------------------------------------------------------------------
def gather_labels(store: Store, settings: Settings) -> int:
    """Write every review decision so far to ``<labeled_dir>/decisions.jsonl``; returns how many."""
    from trust_tagger.review.export import decisions_path, export_decisions

    return export_decisions(store, decisions_path(settings))


def build(settings: Settings) -> Dataset:
    from trust_tagger.retrain.dataset import build_from_settings

    return build_from_settings(settings)


def unchanged_since(settings: Settings, ds: Dataset) -> str | None:
    """The current version when it was trained on exactly this data (nothing to learn), else None."""
    from trust_tagger.model import registry as registry

    version = registry.current(settings)
    if version and registry.show(version, settings).get("training_data_hash") == ds.data_hash:
        return version
    return None


def train_candidate(settings: Settings, *, base_model: str | None = None, epochs: int | None = None,
                    config_overrides: dict | None = None, update: str = "full", log: Callable[[str], None] = print,
                    progress: Callable[[str, int, int], None] | None = None):
    """Train and register a candidate that is not current: only the gate may promote it.

    ``update="heads"`` refits the current model's heads instead of fine-tuning (``retrain.update``)."""
    if update == "heads":
        from trust_tagger.retrain.update import update_version

        return update_version(settings, register_model=True, make_current=False, log=log)
    from trust_tagger.retrain.train import train_version

    return train_version(settings, base_model=base_model, epochs=epochs, config_overrides=config_overrides,
                         register_model=True, make_current=False, log=log, progress=progress)


def evaluate_current(settings: Settings, test: list[Example], cached: bool = False) -> tuple[str, dict] | None:
    """(version, test metrics) of the current model on today's frozen test labels; None without one.

    ``cached``: serve the encoder pass from the process's embedding cache (a heads update shares the
    current encoder, so its candidate is scored from the same cached embeddings)."""
    from trust_tagger.model import registry as registry
    from trust_tagger.model import update as U
    from trust_tagger.retrain.evaluate import compute_metrics

    if registry.current(settings) is None:
        return None
    model = registry.load_current(settings)
    scores = U.predict_proba(model, test) if cached else model.predict_proba(test)
    return str(model.version), compute_metrics(scores, test, model.thresholds)


def promote_or_keep(settings: Settings, candidate: str, candidate_metrics: dict, current_metrics: dict | None,
           policy: GatePolicy | None = None) -> GateDecision:
    """Apply the gate, promote on success, and store the decision in the candidate's registry entry."""
    from trust_tagger.model import registry as registry

    decision = gate(candidate_metrics, current_metrics, policy)
    if decision.promote:
        registry.promote(candidate, settings)
    record_decision(settings, candidate, decision)
    return decision


def record_decision(settings: Settings, version: str, decision: GateDecision) -> None:
    """``gate`` field of the registry entry: promoted or not, why, and when."""
    from trust_tagger.model import registry as registry

    registry.annotate(version, settings, gate={
        "promote": decision.promote, "reasons": decision.reasons,
        "decided": registry.now_iso()})


# -- the whole retrain ----------------------------------------------------------------------------
def retrain(settings: Settings, store: Store | None = None, *, base_model: str | None = None,
            epochs: int | None = None, force: bool = False, policy: GatePolicy | None = None,
            config_overrides: dict | None = None, update: str = "full", run_step: StepRunner = _call,
            log: Callable[[str], None] = print,
            progress: Callable[[str, int, int], None] | None = None) -> RetrainResult:
    """One retrain, start to report. ``force`` trains even when the labels did not change since the
    current model was trained (otherwise that case is skipped: the candidate could only be a copy).
    ``update``: ``full`` fine-tunes a candidate (minutes), ``heads`` refits the current model's heads,
    tf-idf member and calibration on its encoder's features (seconds); both face the same gate."""
    from trust_tagger.model import registry as registry

    if update not in UPDATES:
        raise ValueError(f"unknown update {update!r}; use one of {', '.join(UPDATES)}")
    t0 = time.perf_counter()
    store = store or Store(settings.resolved_db_url)
    _, newest = new_decisions(store)
    exported = run_step(gather_labels, store, settings)
    ds = run_step(build, settings)
    previous = registry.current(settings)
    data = {"hash": ds.data_hash, "counts": ds.counts(), "decisions_exported": exported,
            "decisions_in_training_set": ds.sources.get("decision", 0)}
    log(f"labels: {len(ds.examples)} papers ({ds.sources}), {exported} review decisions exported; "
        f"hash {ds.data_hash[:12]}")
    same = None if force else unchanged_since(settings, ds)
    if same is not None:
        result = RetrainResult(False, previous, previous, data=data,
                               skipped=f"labels unchanged since {same} was trained (use --force to retrain anyway)")
    else:
        test = ds.split("test")
        # The current model first: a broken one fails in seconds, not after minutes of training.
        cur = run_step(evaluate_current, settings, test, update == "heads")
        trained = run_step(train_candidate, settings, base_model=base_model, epochs=epochs,
                           config_overrides=config_overrides, update=update, log=log, progress=progress)
        cand_metrics = trained.metrics.get("test", {})
        if cand_metrics.get("n") != len(test):
            raise RuntimeError(f"candidate {trained.version} was scored on {cand_metrics.get('n')} test papers, "
                               f"the frozen split has {len(test)}: the labels changed during the retrain")
        decision = run_step(promote_or_keep, settings, trained.version, cand_metrics, cur[1] if cur else None, policy)
        result = RetrainResult(decision.promote, previous, registry.current(settings), trained.version, decision,
                               cand_metrics, cur[1] if cur else None, data)
    result.update = update
    store.set_meta(LAST_DECISION_MARK, str(newest))
    result.seconds = round(time.perf_counter() - t0, 1)
    result.report_dir = str(run_step(write_report, settings, result))
    return result


def progress_log(log: Callable[[str], None], step: float = 0.1) -> Callable[[str, int, int], None]:
    """A training ``progress(stage, done, total)`` callback that writes a log line every ``step`` of each
    stage (and at its end): how a retrain run as a Prefect flow shows its progress in the flow's log."""
    last: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if total <= 0:
            return
        tenth = int(done / total / step)
        if done >= total or tenth > last.get(stage, 0):
            if last.get(stage) == -1:
                return
            last[stage] = -1 if done >= total else tenth
            log(f"{stage}: {100 * done / total:.0f}% ({done}/{total})")

    return progress


# -- what a retrain would do (``retrain --dry-run``) ------------------------------------------------
# Used when no earlier training was timed. MiniLM-L6 at max_length 256, batch 16, on 2 CPU cores: seconds an
# epoch per 1,000 abstracts and abstracts/s of inference. bf16 (a CPU with native bf16, encoder.autocast):
# 266 s for the 1,248 training papers and 85.8 papers/s (clean clone of 02aabfe, 2026-12-03); float32:
# 406 s for 1,219 (benchmarks/experiments/bf16_training.json) and 27.1 papers/s.
FALLBACK_RATES = {"bf16": (215.0, 85.0), "float32": (335.0, 27.0)}


def fallback_rates() -> tuple[str, float, float]:
    """(precision, seconds per epoch per 1,000 abstracts, abstracts/s) for this machine's CPU."""
    from trust_tagger.model.encoder import cpu_runs_bf16

    kind = "bf16" if cpu_runs_bf16() else "float32"
    return (kind, *FALLBACK_RATES[kind])


@dataclass
class RetrainPlan:
    """Labels, new decisions and the expected time of the retrain that would run now; nothing written."""

    labels: dict
    decisions_in_store: int
    new_decisions: int
    current: str | None
    unchanged_since: str | None
    epochs: int
    expected_seconds: float
    basis: str

    def lines(self) -> list[str]:
        c = self.labels
        out = [f"labels: {c['total']} papers (train {c['train']['n']}, validation {c['validation']['n']}, "
               f"test {c['test']['n']}), sources {c['sources']}",
               f"review decisions: {self.decisions_in_store} in the store, {self.new_decisions} new since the "
               f"last retrain (exported to the labels before training)",
               f"current model: {self.current or 'none'}"]
        if self.unchanged_since:
            out.append(f"would skip: labels unchanged since {self.unchanged_since} was trained (--force trains anyway)")
        else:
            out.append(f"would train a candidate for up to {self.epochs} epochs, score it and the current model on "
                       f"the frozen test split, then promote it only if the gate passes")
            out.append(f"expected time: about {self.expected_seconds / 60:.0f} min ({self.basis})")
        return out


def expected_seconds(settings: Settings, n_train: int, n_test: int, epochs: int) -> tuple[float, str]:
    """Seconds a retrain should take: scaled from the newest timed training, else the measured rate."""
    from trust_tagger.model import registry as registry

    kind, per_epoch, per_second = fallback_rates()
    for entry in reversed(registry.list_versions(settings)):
        try:
            folder = registry.model_path(entry["id"], settings)
            seconds = json.loads((folder / "metrics.json").read_text()).get("train_seconds")
            trained = json.loads((folder / "tagger.json").read_text()).get("config", {}).get("epochs") or 3
        except (OSError, ValueError, registry.RegistryError):
            continue
        counts = entry.get("label_counts") or {}
        seen = sum((counts.get(part) or {}).get("n", 0) for part in ("train", "validation"))
        if seconds and seen:
            estimate = seconds * (n_train / seen) * (epochs / trained) + 2 * n_test / per_second
            return estimate, f"scaled from {entry['id']}: {seconds:.0f} s for {seen} papers, {trained} epochs"
    # + one pass of the training papers for the neighbour index, two of the test split (both models)
    estimate = per_epoch * epochs * n_train / 1000 + (n_train + 2 * n_test) / per_second
    return estimate, f"{per_epoch:.0f} s per epoch per 1,000 abstracts measured on 2 CPU cores in {kind}"


def plan(settings: Settings, store: Store, *, epochs: int | None = None, force: bool = False) -> RetrainPlan:
    """What :func:`retrain` would do now, without writing anything: the labels it would train on (the
    store's decisions exported into a scratch copy of the labels), how many decisions are new, and
    how long it should take."""
    import dataclasses
    import shutil
    import tempfile

    from trust_tagger.files import write_jsonl
    from trust_tagger.model import registry as registry
    from trust_tagger.model.config import TrainConfig
    from trust_tagger.retrain.dataset import annotation_files, decision_files
    from trust_tagger.review.export import decision_records, decisions_path

    records = decision_records(store)
    labeled = settings.path(settings.labeled_dir)
    with tempfile.TemporaryDirectory(prefix="trust-tagger-plan-") as tmp:
        for path in [*annotation_files(labeled), *decision_files(labeled)]:  # what the builder reads
            if path.is_file():
                shutil.copy2(path, Path(tmp) / path.name)
        write_jsonl(Path(tmp) / decisions_path(settings).name, records)
        ds = build(dataclasses.replace(settings, labeled_dir=Path(tmp)))
    epochs = epochs or TrainConfig().epochs
    n_train = len(ds.split("train")) + len(ds.split("validation"))
    seconds, basis = expected_seconds(settings, n_train, len(ds.split("test")), epochs)
    return RetrainPlan(ds.counts(), len(records), new_decisions(store)[0], registry.current(settings),
                       None if force else unchanged_since(settings, ds), epochs, round(seconds), basis)


# -- report ---------------------------------------------------------------------------------------
def write_report(settings: Settings, result: RetrainResult) -> Path:
    """``reports/retrain-<ts>/report.json`` (the machine record) and ``report.md``."""
    out = settings.path(settings.reports_dir) / f"retrain-{dt.datetime.now():%Y%m%dT%H%M%S%f}"
    result.report_dir = str(out)
    atomic_write_json(out / "report.json", result.to_dict())
    atomic_write_text(out / "report.md", report_markdown(result))
    return out


def _f(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and value == value else "—"


def report_markdown(result: RetrainResult) -> str:
    """The decision first, then every figure the gate looked at; also the Prefect artifact and CLI text."""
    kind = " (heads update)" if result.update == "heads" else ""
    lines = [f"# Retrain{kind}: {result.verdict}", ""]
    if result.skipped:
        lines += [f"No candidate trained: {result.skipped}. Current model: `{result.current}`.", ""]
    else:
        verb = "promoted to current" if result.promoted else f"kept out; `{result.current}` stays current"
        lines += [f"Candidate `{result.candidate}` {verb} (previous: `{result.previous or 'none'}`).", ""]
        lines += [f"- {r}" for r in result.decision.reasons] + [""]
        cand, cur = result.candidate_metrics, result.current_metrics or {}
        lines += ["| frozen test split | candidate | current | delta |", "|---|---|---|---|"]
        for key, name in ((RELEVANCE_AP, "relevance AP"), (MACRO_F1, "category macro-F1"), (ECE, "relevance ECE")):
            a, b = cand.get(key), cur.get(key)
            delta = a - b if isinstance(a, float) and isinstance(b, float) else None
            lines.append(f"| {name} | {_f(a)} | {_f(b)} | {'—' if delta is None else f'{delta:+.3f}'} |")
        lines += ["", "| category | support | candidate F1 | current F1 |", "|---|---|---|---|"]
        for cat, row in (cand.get("per_category") or {}).items():
            old = (cur.get("per_category") or {}).get(cat, {})
            lines.append(f"| {cat} | {row.get('support')} | {_f(row.get('f1'))} | {_f(old.get('f1'))} |")
        lines.append("")
    counts = result.data.get("counts", {})
    lines += [f"Labels: {counts.get('total')} papers, sources {counts.get('sources')}, "
              f"{result.data.get('decisions_exported')} review decisions exported "
              f"({result.data.get('decisions_in_training_set')} used); dataset hash `{str(result.data.get('hash'))[:16]}`; "
              f"test split {counts.get('test', {}).get('n')} papers. {result.seconds:.0f} s.", ""]
    return "\n".join(lines)
