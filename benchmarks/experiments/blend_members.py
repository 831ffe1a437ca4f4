"""Measured before the blend's members changed (TrainConfig.tfidf_C): what the steps after the fine-tune can
still buy on one saved model of the default recipe. The fine-tuned net's logits are computed once; the blend's
members and weights change; calibration, thresholds and routing rerun through the shipped code
(``TrustTagger._set_core_blend``) on the benchmark's validation papers; figures on validation, the temporal
holdout and the later list papers.

    python benchmarks/experiments/label_rules.py --fit /tmp/m13 --seed 13   # a model on the benchmark's data
    python benchmarks/experiments/blend_members.py /tmp/m13

Variants: the net's weight; the tf-idf member's C (relevance; categories keep label_C) and word + char
n-grams; the frozen-embedding LR as a third member; the tf-idf member self-trained on the unlabeled pool papers
dated before validation (pseudo-labels from the model's own routing). Each row: relevance AP, core AP,
category macro-F1, auto-decided share under core, merged papers, their core precision.
Writes ``blend_members.json`` (one entry per model) next to this script.
"""
import sys, json, pickle, time, copy
from pathlib import Path
import numpy as np
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'src')); sys.path.insert(0, str(ROOT / 'benchmarks'))
from bench_classifier import _data
from trust_tagger.config import load_settings
from trust_tagger.model.encoder import set_offline_defaults
from trust_tagger.model.tagger import TrustTagger
from trust_tagger.model.baselines import TfidfLR, FrozenEmbeddingLR
from trust_tagger.model.calibration import logit
from trust_tagger.retrain.evaluate import compute_metrics
from trust_tagger.retrain.dataset import Example
set_offline_defaults()
mdir = sys.argv[1]; cache = Path(mdir + ".parts.pkl")  # the encoder passes, reused by a rerun
s = load_settings()
train, val, holdout, test, later, added, pool, protocol = _data(s)
m = TrustTagger.load(mdir)
labeled = {e.key for e in train + val + holdout + test + later} | set(added)
unl_keys = sorted(k for k, r in pool.items() if k not in labeled and str(r.get("date", "")) < "2026-03-01")
from trust_tagger.model.predict import validate_record
unl = [validate_record(pool[k]) for k in unl_keys]
SETS = {"train": train, "val": val, "hold": holdout, "later": later, "unl": unl}
t0 = time.time()
if cache.exists():
    C = pickle.loads(cache.read_bytes())
else:
    C = {"parts": {}, "frozen": {}}
    fr = FrozenEmbeddingLR(m.config.base_model)
    for n, exs in SETS.items():
        if n != "train":
            C["parts"][n] = m._member_logits(exs)
        C["frozen"][n] = fr.embed(exs)
        print(n, len(exs), f"{time.time()-t0:.0f}s", flush=True)
    cache.write_bytes(pickle.dumps(C))
P = C["parts"]; F = C["frozen"]

def member_parts(model, name, exs, feats=None):
    sc = model.predict_proba(exs) if feats is None else model.predict_proba(exs, features=feats)
    d = {"relevance": logit(sc.relevance), "categories": logit(sc.categories), "subcategories": logit(sc.subcategories)}
    if sc.cond is not None: d.update(cond=logit(sc.cond), large=logit(sc.large))
    return d

def evaluate(extra: dict, blend: dict, cat_blend: dict | None = None, core_blend: dict | None = None):
    """extra: {member: {set: parts}}; returns figures on val / hold / later."""
    mm = copy.copy(m); mm.blend = {"relevance": blend, "categories": cat_blend or blend}
    if core_blend: mm.config = copy.copy(m.config); mm.config.core_weights = core_blend
    parts = {}
    for n in ("val", "hold", "later"):
        p = dict(P[n]); p = {k: v for k, v in p.items() if k != "tfidf" or "tfidf" not in extra}
        for name, d in extra.items(): p[name] = d[n]
        parts[n] = p
    mm._set_core_blend(parts["val"], val)
    out = {}
    for n, exs in (("val", val), ("hold", holdout), ("later", later)):
        r = compute_metrics(mm._scores_from_raw(mm._blend(parts[n])), exs, mm.thresholds)
        cr = r.get("core_routing", {})
        out[n] = [round(r["relevance_ap"], 3), round(r["core_ap"], 3), round(r.get("category_macro_f1", float("nan")), 3),
                  round(cr.get("auto_share", float("nan")), 2), cr.get("n_merged"), round(cr.get("merge_precision_core", float("nan")), 2)]
    return out

res = {}
def run(name, *a, **k):
    r = evaluate(*a, **k); res[name] = r
    print(f"{name:38s} val {r['val']}  hold {r['hold']}  later {r['later']}", flush=True)

base = {"net": .5, "tfidf": .5}
run("shipped", {}, base)
for w in (0.3, 0.4, 0.6, 0.7):
    run(f"net{w}", {}, {"net": w, "tfidf": 1 - w})
# tf-idf variants
def tfidf_variant(**kw):
    t = TfidfLR(**{k: v for k, v in kw.items() if k in ("C", "label_C", "max_features")})
    if "analyzer" in kw:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from trust_tagger.model.encoder import record_text
        from trust_tagger.model.heads import FeatureLR
        from sklearn.pipeline import FeatureUnion
        vec = FeatureUnion([("w", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, strip_accents="unicode")),
                            ("c", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True, max_features=100000))])
        X = vec.fit_transform([record_text(e) for e in kw["train"]]); t.vec_ = vec
        t.lr_ = FeatureLR(t.C, label_C=t.label_C).fit_features(X, kw["train"])
    else:
        t.fit(kw["train"])
    return {n: member_parts(t, "tfidf", SETS[n]) for n in ("val", "hold", "later", "unl")}
for C_ in (1.0, 8.0, 16.0, 32.0, 64.0):
    run(f"tfidf C{C_}", {"tfidf": tfidf_variant(C=C_, train=train)}, base)
run("tfidf word+char", {"tfidf": tfidf_variant(train=train, analyzer=1)}, base)
# frozen member
fz = FrozenEmbeddingLR(m.config.base_model, label_C=m.config.probe_label_C).fit(train, features=F["train"])
FZ = {n: member_parts(fz, "frozen", SETS[n], F[n]) for n in ("val", "hold", "later")}
for w in ((.4, .4, .2), (.5, .3, .2), (.4, .3, .3), (.34, .33, .33)):
    run(f"+frozen {w}", {"frozen": FZ}, {"net": w[0], "tfidf": w[1], "frozen": w[2]})
run("+frozen rel only (.4,.4,.2)", {"frozen": FZ}, {"net": .4, "tfidf": .4, "frozen": .2}, cat_blend=base, core_blend=base)
run("+frozen cats only (.4,.4,.2)", {"frozen": FZ}, base, cat_blend={"net": .4, "tfidf": .4, "frozen": .2})
# self-training: pseudo-labels from the shipped blend on unlabeled pool papers dated before validation
mm = copy.copy(m)
su = mm._scores_from_raw(mm._blend(P["unl"]))
th = m.thresholds
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES
def pseudo(acc_p, rej_p):
    out = []
    for i, r in enumerate(unl):
        p = su.relevance[i]
        if acc_p > p > rej_p: continue
        relv = 0
        cats, subs = [], []
        if p >= acc_p:
            relv = 2 if (su.core is not None and su.core[i] >= 0.5) else 1
            cats = [c for j, c in enumerate(CATEGORIES) if su.categories[i, j] >= th.categories.get(c, .5)]
            subs = [c for j, c in enumerate(SUBCATEGORIES) if su.subcategories[i, j] >= th.subcategories.get(c, .5)]
        out.append(Example(arxiv_id=r.get("arxiv_id", ""), key=unl_keys[i], title=r["title"], abstract=r["abstract"],
                           arxiv_categories=[], date=str(r.get("date", "")), relevance=relv, relevance_exact=False,
                           categories=cats, subcategories=subs, audio_llm=None, source="pseudo", split="train"))
    return out
for acc_p, rej_p in ((th.accept, th.reject), (0.9, 0.02)):
    ps = pseudo(acc_p, rej_p)
    print("pseudo", acc_p, rej_p, len(ps), sum(e.relevance > 0 for e in ps), flush=True)
    run(f"tfidf self-train {acc_p:.2f}/{rej_p:.3f}", {"tfidf": tfidf_variant(train=train + ps)}, base)
out = Path(__file__).with_suffix(".json")
done = json.loads(out.read_text()) if out.exists() else {}
done[mdir] = {"columns": ["relevance_ap", "core_ap", "category_macro_f1", "auto_share_core", "merged", "merge_precision_core"],
              **res}
out.write_text(json.dumps(done, indent=1))
print(f"done {time.time()-t0:.0f}s")
