"""Where does `train`'s peak RSS go? Runs the real ``train_version`` path (what `scripts/main.sh`
calls, into a scratch folder, not registered) with a sampler thread reading VmRSS every 0.1 s, and
wraps each step of the fit (dataset, encoder load, frozen embeddings, linear probe, fine-tune steps,
validation passes, members, blend, calibration, scoring, save) so each sample is charged to the step
that was running. Writes a JSON (per-step RSS at entry, peak, at exit) and a PNG timeline.
Run from the repo root: ``python benchmarks/experiments/memory_probe.py [OUT.json] [key=value ...]``
(TrainConfig overrides, e.g. ``heap_trim_every=4``; ``PROBE_MMAP_MB=1`` sets the training loop's mmap
threshold; ~5-7 min on 2 cores).
"""
import functools
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

root = Path.cwd()
sys.path.insert(0, str(root / "src"))

from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.model import encoder as E  # noqa: E402
from trust_tagger.model import tagger as T  # noqa: E402
from trust_tagger.model import update as U  # noqa: E402
from trust_tagger.retrain import dataset as D  # noqa: E402
from trust_tagger.retrain import train as R  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


stack: list[str] = ["start"]
samples: list[tuple[float, float, str]] = []
steps: dict[str, dict] = {}
t_start = time.time()
stop = threading.Event()


def sampler() -> None:
    while not stop.is_set():
        name, r = "/".join(stack), rss_mb()
        samples.append((time.time() - t_start, r, name))
        s = steps.get(name)
        if s is not None:
            s["peak_mb"] = max(s["peak_mb"], r)
        stop.wait(0.1)


def phase(name: str, fn):
    @functools.wraps(fn)
    def wrapped(*a, **k):
        stack.append(name)
        key = "/".join(stack)
        s = steps.setdefault(key, {"calls": 0, "entry_mb": rss_mb(), "peak_mb": 0.0, "seconds": 0.0})
        s["calls"] += 1
        t = time.time()
        try:
            return fn(*a, **k)
        finally:
            s["seconds"] += time.time() - t
            s["exit_mb"] = rss_mb()
            s["peak_mb"] = max(s["peak_mb"], s["exit_mb"])
            stack.pop()
    return wrapped


D.load_pool = phase("load_pool", D.load_pool)
D.build_dataset = phase("build_dataset", D.build_dataset)
E.load_encoder = phase("load_encoder", E.load_encoder)
U.DEFAULT_CACHE.embed = phase("frozen_embed", U.DEFAULT_CACHE.embed)
T.fine_tune = phase("fine_tune", T.fine_tune)
for meth in ("_init_heads_from_probe", "_net_logits", "_fit_members", "_member_logits", "_choose_blend",
             "_set_core_blend", "_calibrate", "save"):
    setattr(T.TrustTagger, meth, phase(meth, getattr(T.TrustTagger, meth)))
R._scored = phase("score_val_holdout_test", R._scored)
if os.environ.get("PROBE_MMAP_MB"):  # the fit's mmap threshold for the training loop (default 4 MB)
    _limit = T.limit_allocator_retention
    T.limit_allocator_retention = lambda mmap_threshold=int(float(os.environ["PROBE_MMAP_MB"]) * 2**20), **k: _limit(mmap_threshold, **k)

overrides = {}
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    overrides[k] = json.loads(v.lower() if v in ("True", "False") else v)
out_path = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/experiments/memory_probe.json")

E.set_offline_defaults()
settings = load_settings()
thread = threading.Thread(target=sampler, daemon=True)
thread.start()
with tempfile.TemporaryDirectory() as tmp:
    res = R.train_version(settings, output=Path(tmp) / "v1", register_model=False, config_overrides=overrides,
                          log=lambda s: print(f"[{time.time() - t_start:6.1f}s {rss_mb():7.0f} MB] {s}", flush=True))
stop.set()
thread.join()
peak = max(samples, key=lambda s: s[1])
out = {"ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "overrides": overrides, "mmap_mb": os.environ.get("PROBE_MMAP_MB"), "train_seconds": res.seconds, "peak_mb": round(peak[1], 1),
       "peak_at": {"t": round(peak[0], 1), "step": peak[2]},
       "steps": {k: {kk: round(vv, 1) if isinstance(vv, float) else vv for kk, vv in v.items()} for k, v in steps.items()},
       "holdout": {k: res.metrics.get("holdout", {}).get(k) for k in ("relevance_ap", "core_ap", "category_macro_f1")}}
print(json.dumps(out, indent=2, default=float))
out_path.write_text(json.dumps(out, indent=2, default=float))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(10, 4))
ax.plot([s[0] for s in samples], [s[1] for s in samples], lw=1)
last = None
for t, r, name in samples:
    top = name.split("/")[1] if "/" in name else name
    if top != last:
        ax.axvline(t, color="grey", lw=0.5)
        ax.text(t, peak[1] * 1.01, top, rotation=90, fontsize=6, va="bottom")
        last = top
ax.axhline(2048, color="red", lw=0.8, ls="--")
ax.set_xlabel("seconds")
ax.set_ylabel("RSS (MB)")
ax.set_title(f"train RSS, peak {peak[1]:.0f} MB in {peak[2]}")
fig.tight_layout()
fig.savefig(out_path.with_suffix(".png"), dpi=120)
