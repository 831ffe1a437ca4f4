"""The keyword member's relevance from hits graded by where they fire (title 1, abstract only ``a``).

    python benchmarks/experiments/keyword_relevance_title.py MODEL_DIR [MODEL_DIR ...]

Found on the way in ``keyword_title_weight.py``: with title-only hits (a = 0) the relevance AP of the
temporal holdout rose at both seeds. The keyword member scores relevance by how many categories' rules
fire (``KeywordRules.scores_from_hits``); a rule firing on one word in passing counts as much as one
in the title. Here only that member's relevance is recomputed, by the product's own
``KeywordRules(abstract_weight=a)``; the category reading keeps the 0/1 hits. The relevance shares (keywords, neighbours) are gridded with it, as in
``relevance_members.py``. Every variant goes through the shipped steps after the fine-tune (members
fitted as ``fit`` does, then ``recalibrate`` on validation: blend, floor, calibration, thresholds), the
net's logits computed once per set. Figures through ``compute_metrics``; chosen on validation.
Written to ``keyword_relevance_title.json``; variants already there are not measured again.
"""
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src")); sys.path.insert(0, str(ROOT / "benchmarks"))
from _shipped import fit_shipped_members, recalibrate  # noqa: E402
from bench_classifier import _data  # noqa: E402

from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.model.baselines import KeywordRules, keyword_hits, title_hits  # noqa: E402
from trust_tagger.model.calibration import logit  # noqa: E402
from trust_tagger.model.encoder import mentions_audio, set_offline_defaults  # noqa: E402
from trust_tagger.model.tagger import TrustTagger  # noqa: E402
from trust_tagger.retrain.evaluate import compute_metrics  # noqa: E402

set_offline_defaults()
train, val, holdout, test, later, added, pool, _ = _data(load_settings())
sets = {"validation": val, "holdout": holdout, "test": test, "later": later}
GRADES = [1.0, 0.5, 0.25, 0.0]  # 1.0: the 0/1 hits shipped before
SHARES = [(0.3, 0.2), (0.2, 0.2), (0.4, 0.2), (0.3, 0.3)]  # (keywords, neighbours); (0.3, 0.2) shipped before
# Added after the first run, where keywords 0.4 was at the grid's edge for every grade; then, with validation's
# best at neighbours 0.1, the edge of that.
EXTENDED = [(0.5, 0.5, 0.2), (0.5, 0.6, 0.2), (0.5, 0.4, 0.1), (0.5, 0.5, 0.1), (0.0, 0.5, 0.2), (0.25, 0.5, 0.2),
            (0.5, 0.5, 0.0), (0.5, 0.6, 0.1), (0.5, 0.6, 0.0)]
GRID = [(a, kw, nb) for a in GRADES for kw, nb in SHARES] + EXTENDED
OUT = Path(__file__).with_suffix(".json")
rows = json.loads(OUT.read_text()) if OUT.exists() else []  # variants already measured are kept, not rerun
done = {(r["model"], r["abstract_only"], r["keywords"], r["neighbours"]) for r in rows}
for md in sys.argv[1:]:
    if all((md, *v) in done for v in GRID):
        continue
    m = fit_shipped_members(TrustTagger.load(md), train, val)
    base = {id(ex): m._member_logits(ex) for ex in sets.values()}
    audio = {id(ex): np.array([mentions_audio(r) for r in ex], dtype=bool) for ex in sets.values()}
    hits = {id(ex): (*keyword_hits(ex), title_hits(ex)) for ex in sets.values()}
    for a, kw, nb in GRID:
        if (md, a, kw, nb) in done:
            continue

        def member_logits(records, progress=None, embeddings=None, a=a):
            parts = {n: dict(v) for n, v in base[id(records)].items()}
            hit_c, hit_s, hit_title = hits[id(records)]
            s = KeywordRules(abstract_weight=a).scores_from_hits(hit_c, hit_s, audio[id(records)], hit_title)
            parts["keywords"]["relevance"] = logit(s.relevance)
            return parts
        m._member_logits = member_logits
        m.config = dataclasses.replace(m.config, relevance_shares={"keywords": kw, "neighbours": nb})
        recalibrate(m, val)
        row = {"model": md, "abstract_only": a, "keywords": kw, "neighbours": nb}
        for n, ex in sets.items():
            r = compute_metrics(m.predict_proba(ex), ex, m.thresholds)
            row[n] = {k: r.get(k) for k in ("relevance_ap", "core_ap", "category_macro_f1")}
            row[n]["core_routing"] = r.get("core_routing")
        print(Path(md).name, a, kw, nb, " ".join(f"{n} {row[n]['relevance_ap']:.3f}" for n in sets), flush=True)
        rows.append(row)
OUT.write_text(json.dumps(rows, indent=1, default=str) + "\n")
