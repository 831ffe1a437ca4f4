"""The paper classifier: a fine-tuned sentence encoder with four heads, blended with linear models.

Heads on one mean-pooled, L2-normalised MiniLM embedding: relevance P(rel>=1), relevance class
0/1/2, the 7 categories and the subcategories (categories/subcategories are *conditional* on the
paper being relevant: they are trained on relevant papers only, so they answer "where would this go").

Why this shape (measured, see benchmarks/RESULTS.md):
* A plain full fine-tune overfits the annotation set and lost to frozen embeddings + logistic
  regression on papers added to the list later. So training is LP-FT: the heads start from the
  logistic regressions fitted on frozen embeddings (linear probe), then the whole network is tuned
  with a small learning rate and early stopping on validation; fine-tuning then moves features less.
* The fine-tuned net is blended (weighted logit sum, fixed 50/50 or picked on validation) with a tf-idf LR
  and optionally the frozen-embedding LR, which are robust on papers unlike the training set. The
  relevance logit also takes the keyword rules (0.3) and a vote of the nearest training papers in the
  net's embedding (0.2; ``neighbours``): validation relevance AP 0.911 -> 0.923, temporal holdout
  0.910 -> 0.915 (seed 13). The core score keeps the relevance logit without them.
* Blended logits are calibrated on validation (``calibration``), and routing thresholds are chosen
  there at the feed prior (``routing``). Everything needed to predict is saved in one folder with a
  sha256 manifest that is checked on load.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from trust_tagger.model.baselines import FrozenEmbeddingLR, KeywordRules, TfidfLR, keyword_hits, title_hits
from trust_tagger.model.calibration import Calibration, logit
from trust_tagger.model.config import TrainConfig
from trust_tagger.model.contracts import RawScores, Scores
from trust_tagger.model.encoder import (
    autocast,
    collate,
    length_sorted_batches,
    mentions_audio,
    mentions_large_audio_model,
    record_text,
    tokenize,
)
from trust_tagger.model.finetune import (
    _mean_ap,
    _rel_ap,
    _seed_all,
    _stage,
    fine_tune,
    limit_allocator_retention,
    trim_heap,
)
from trust_tagger.model.heads import (
    FeatureLR,
    calibrate,
    calibrated_scores,
    class_known,
    core_logit,
    label_matrix,
    raw_core_logit,
)
from trust_tagger.model.neighbours import NeighbourVote, record_key
from trust_tagger.model.network import N_CAT, N_SUB, SL_CAT, SL_CLS, SL_COND, SL_LARGE, SL_SUB, _torch, build_net
from trust_tagger.routing import Thresholds


class TrustTagger:
    """sklearn-like: ``fit(train, validation)``, ``predict_proba(records) -> Scores``, ``save``/``load``.

    Records are dicts (or objects) with ``title`` and ``abstract``.
    """

    def __init__(self, config: TrainConfig | None = None):
        self.config = config or TrainConfig()
        self.net = None
        self.tokenizer = None
        self.members: dict[str, object] = {}
        self.blend: dict[str, dict[str, float]] = {"relevance": {"net": 1.0}, "categories": {"net": 1.0}}
        self.calibration = Calibration()
        self.thresholds = Thresholds()
        self.history: list[dict] = []
        self.info: dict = {}
        self.device = None

    # ---------------------------------------------------------------- network passes
    def _net_logits(self, records, progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(logits (n, heads), embeddings (n, hidden)) in input order, length-sorted batches."""
        torch = _torch()
        ids = tokenize(self.tokenizer, [record_text(r) for r in records], self.config.max_length)
        out = np.zeros((len(ids), self.net.head.out_features), dtype=np.float32)
        emb = np.zeros((len(ids), self.net.head.in_features), dtype=np.float32)
        self.net.eval()
        with torch.inference_mode():
            for batch in length_sorted_batches([len(x) for x in ids], self.config.eval_batch_size):
                input_ids, mask = collate([ids[i] for i in batch], self.tokenizer.pad_token_id or 0)
                input_ids, mask = input_ids.to(self.device), mask.to(self.device)
                with autocast(self.device):
                    e = self.net.embed(input_ids, mask).float()
                # The heads in float32, as head_logits applies them to cached embeddings: both paths agree.
                out[batch] = self.net.head(e).cpu().numpy()
                emb[batch] = e.cpu().numpy()
                if progress:
                    progress(len(batch))
        trim_heap()  # the pass's activations sit in the heap (32 MB mmap threshold): ~150 MB a pass kept otherwise
        return out, emb

    # ---------------------------------------------------------------- training
    def fit(self, train, validation, progress: Callable[[str, int, int], None] | None = None,
            log: Callable[[str], None] = lambda s: None) -> "TrustTagger":
        """Fine-tune on ``train``, early-stop / blend / calibrate / threshold on ``validation``."""
        from trust_tagger.model.encoder import load_encoder, pick_device

        cfg = self.config
        t0 = time.time()
        limit_allocator_retention()
        _seed_all(cfg.seed)
        self.device = pick_device()
        self.tokenizer, encoder = load_encoder(cfg.base_model)
        self.net = build_net(encoder, cfg.dropout).to(self.device)

        frozen_train = None
        if cfg.lp_init or "frozen" in cfg.members:
            # The base encoder's embeddings never change: a process that fits again (the simulation's
            # monthly retrains, a benchmark) embeds only papers it has not seen (~80 s for 757 papers).
            from trust_tagger.model.update import DEFAULT_CACHE

            frozen_train = DEFAULT_CACHE.embed(self, train, progress=_stage(progress, "embed", len(train)))
        if cfg.lp_init:
            self._init_heads_from_probe(frozen_train, train)
            log(f"linear-probe heads fitted ({time.time() - t0:.0f}s)")
        val_y = label_matrix(validation)
        last: dict = {}

        def validate() -> float:
            z, last["embeddings"] = self._net_logits(validation)
            return _val_score(z, val_y, cfg.core_exponent)

        self.history, info = fine_tune(self.net, self.tokenizer, train, cfg, self.device, validate=validate,
                                       progress=progress, log=log, t0=t0)
        if frozen_train is not None:  # the probe pass remembered the base weights' fingerprint
            from trust_tagger.model.update import forget_fingerprint

            forget_fingerprint(self.net.encoder)
        # Prediction passes from here on: a 4 MB mmap threshold cost ~12 % papers/s (128 papers, load ~4.2-4.5:
        # 5.6 vs 6.4 with 32 MB, glibc's own ceiling for its adaptive threshold).
        limit_allocator_retention(mmap_threshold=32 << 20)
        self.info.update(info)

        # Ensemble members, blend weights, calibration, thresholds: all on validation. When the kept
        # epoch is the last one, its validation pass is reused (one encoder pass of the validation
        # papers less: ~90 s of 458 papers on 2 loaded cores).
        self._fit_members(train, frozen_train, progress=_stage(progress, "index", len(train)))
        kept_last = bool(self.history) and info.get("best_epoch") == self.history[-1]["epoch"]
        parts = self._member_logits(validation, embeddings=last.get("embeddings") if kept_last else None)
        self._set_blend(parts, val_y)
        self._set_core_blend(parts, validation)
        self.info["train_seconds"] = round(time.time() - t0, 1)
        return self

    def _init_heads_from_probe(self, X: np.ndarray, train) -> None:
        """Copy logistic-regression weights fitted on frozen embeddings into the output layer."""
        torch = _torch()
        probe = FeatureLR(C=self.config.probe_C, label_C=self.config.probe_label_C).fit_features(X, train)
        W = np.zeros((self.net.head.out_features, X.shape[1]), dtype=np.float32)
        b = np.zeros(self.net.head.out_features, dtype=np.float32)

        def put(row, m):
            if hasattr(m, "coef_"):
                W[row] = m.coef_[0]
                b[row] = m.intercept_[0]
            else:  # constant label: bias only
                b[row] = float(logit(np.array([getattr(m, "p", 0.5)]))[0])

        put(0, probe.rel_)
        if probe.cls_ is not None and hasattr(probe.cls_, "coef_") and len(probe.cls_.classes_) == 3:
            W[SL_CLS] = probe.cls_.coef_
            b[SL_CLS] = probe.cls_.intercept_
        for j, m in enumerate(probe.cats_):
            put(SL_CAT.start + j, m)
        for j, m in enumerate(probe.subs_):
            put(SL_SUB.start + j, m)
        put(SL_COND.start, probe.cond_)
        put(SL_LARGE.start, probe.large_)
        with torch.no_grad():
            self.net.head.weight.copy_(torch.tensor(W))
            self.net.head.bias.copy_(torch.tensor(b))

    # ---------------------------------------------------------------- ensemble
    def _fit_members(self, train, frozen_train=None, embeddings: np.ndarray | None = None, progress=None) -> None:
        """Fit the members ``config.members`` names on ``train``.

        ``frozen_train``: base-encoder embeddings of ``train``; without them a frozen-embedding member
        already fitted is kept (refitting it needs the base encoder's pass, which the heads update skips).
        ``embeddings``: the current net's embeddings of ``train`` (rows in order) for the neighbour index;
        without them the net embeds ``train`` (12 s for the 1,248 papers of `scripts/main.sh` on 2 cores).
        """
        cfg, kept = self.config, self.members
        self.members = {}
        if "tfidf" in cfg.members:
            self.fit_tfidf_member(train)
        if "frozen" in cfg.members:
            if frozen_train is not None:
                m = FrozenEmbeddingLR(cfg.base_model, max_length=cfg.max_length, label_C=cfg.probe_label_C)
                self.members["frozen"] = m.fit(train, features=frozen_train)
            elif "frozen" in kept:
                self.members["frozen"] = kept["frozen"]
        if "keywords" in cfg.members:
            self.members["keywords"] = KeywordRules(cfg.keyword_abstract_weight)
        if "neighbours" in cfg.members:
            if embeddings is None:
                embeddings = self._net_logits(train, progress)[1]
            self.members["neighbours"] = NeighbourVote(cfg.neighbour_k, cfg.neighbour_temperature).fit(
                embeddings, [e.relevance >= 1 for e in train], [e.key for e in train])

    def fit_tfidf_member(self, train) -> None:
        """The tf-idf member, refitted on ``train`` (also by the heads update, which keeps the others)."""
        self.members["tfidf"] = TfidfLR(C=self.config.tfidf_C).fit(train)

    def _member_logits(self, records, progress=None, embeddings=None) -> dict[str, dict[str, np.ndarray]]:
        if embeddings is None:
            z, embeddings = self._net_logits(records, progress)
        else:
            z = self.head_logits(embeddings)
        parts = {"net": {"relevance": z[:, 0], "relevance_class": z[:, SL_CLS], "categories": z[:, SL_CAT],
                         "subcategories": z[:, SL_SUB]}}
        if z.shape[1] >= SL_LARGE.stop:  # models saved before the core heads have none
            parts["net"].update(cond=z[:, SL_COND.start], large=z[:, SL_LARGE.start])
        audio = np.array([mentions_audio(r) for r in records], dtype=bool)
        if self.config.audio_gate:
            parts["audio_gate"] = {"relevance": np.where(audio, 0.0, -float(self.config.audio_gate))}
        parts[LARGE_MENTION] = {"mask": np.array([mentions_large_audio_model(r) for r in records], dtype=bool)}
        hit_c, hit_s = keyword_hits(records)
        parts[KEYWORD_HITS] = {"category_hits": hit_c, "subcategory_hits": hit_s}
        hit_title = title_hits(records) if any(isinstance(m, KeywordRules) for m in self.members.values()) else None
        for name, m in self.members.items():
            if isinstance(m, NeighbourVote):  # relevance only, from the net's embeddings
                parts[name] = {"relevance": logit(m.predict_proba(embeddings, [record_key(r) for r in records]))}
                continue
            s: Scores = m.scores_from_hits(hit_c, hit_s, audio, hit_title) if isinstance(m, KeywordRules) \
                else m.predict_proba(records)
            parts[name] = {"relevance": logit(s.relevance), "categories": logit(s.categories),
                           "subcategories": logit(s.subcategories)}
            if s.cond is not None and s.large is not None:
                parts[name].update(cond=logit(s.cond), large=logit(s.large))
        return parts

    def _set_blend(self, parts, val_y) -> None:
        """Member weights: ``config.blend_weights`` (None: chosen on validation), then the relevance-only
        shares of ``config.relevance_shares`` taken out of the relevance weights (the others scaled down so
        the weights still sum to one)."""
        cfg = self.config
        if cfg.blend_weights:
            w = {n: float(v) for n, v in cfg.blend_weights.items() if n in parts}
            self.blend = {"relevance": w, "categories": dict(w)}
        else:
            self._choose_blend(parts, val_y)
        shares = {n: float(v) for n, v in (cfg.relevance_shares or {}).items() if n in parts and v > 0}
        total = sum(shares.values())
        if not 0 <= total < 1:
            raise ValueError(f"relevance_shares {shares} must sum to less than 1")
        if total:
            # The core score keeps the relevance logit without them: with them, on the saved seed-13 model,
            # core AP fell 0.889 -> 0.863 on the temporal holdout (frozen test 0.798 -> 0.725) and the core
            # policy auto-decided 0.87 instead of 0.91 (benchmarks/experiments/relevance_members_routed.py).
            self.blend["core_relevance"] = dict(self.blend["relevance"])
            rest = {n: w * (1 - total) for n, w in self.blend["relevance"].items() if n not in shares}
            self.blend["relevance"] = {**rest, **shares}

    def _choose_blend(self, parts, val_y) -> None:
        """Grid over simplex weights; relevance by validation AP, categories by mean AP on relevant papers.
        Over the members that have category heads; the relevance-only shares come after (``_set_blend``)."""
        rel, _, _, cats, _ = val_y
        pos = rel > 0
        shares = self.config.relevance_shares or {}
        names = [n for n in parts if n not in ("audio_gate", LARGE_MENTION, KEYWORD_HITS)
                 and "categories" in parts[n] and n not in shares]
        grid = _simplex(len(names), self.config.blend_step)
        best_r, best_c = (-1.0, None), (-1.0, None)
        for w in grid:
            zr = sum(wi * parts[n]["relevance"] for wi, n in zip(w, names))
            zc = sum(wi * parts[n]["categories"] for wi, n in zip(w, names))
            r = _rel_ap(zr, rel)
            c = _mean_ap(zc[pos], cats[pos]) if pos.any() else 0.0
            # Ties go to the weight vector with more on the net (first in grid order).
            if r > best_r[0] + 1e-9:
                best_r = (r, w)
            if c > best_c[0] + 1e-9:
                best_c = (c, w)
        self.blend = {
            "relevance": {n: float(wi) for n, wi in zip(names, best_r[1])},
            "categories": {n: float(wi) for n, wi in zip(names, best_c[1])},
        }
        self.info["blend_validation"] = {"relevance_ap": best_r[0], "category_mean_ap": best_c[0]}

    def _set_core_blend(self, parts, validation) -> None:
        """Member weights of the cond / large heads the core score is made of (``config.core_weights``;
        None = the relevance weights), the ``large`` floor for papers that name a large audio model, and
        the calibration and thresholds of the blend so made (each floor is judged by its own calibration,
        so the chosen one's is kept rather than fitted twice).

        Of ``config.large_floors`` the floor kept is one under which the ``core`` policy still merges
        something, then the one that auto-decides most of validation (at its precision / no-core-missed
        constraints), then the best core AP: the floor that ranks best is not always the one that routes
        best. On the 2026-01 start model of the replay (hashed validation, 239 papers, 25 core) the
        AP-best floor 0.9 raised core AP 0.662 -> 0.760 but cut the auto-decided share 0.65 -> 0.58 (its
        lowest core paper names no large model), and the replay's first week queued 36 papers instead
        of 21: floor 0 is kept there. On the shipped recipe's model (dense 2026-03 validation) floor 0.5
        auto-decides 0.79 instead of 0.70; 0.7 and 0.9 reach 0.82 / 0.84 but leave no accept region
        (the lifted non-core papers break the 0.90 merge precision at the top).
        ``config.large_floor_share_tolerance`` lets a floor within that much of the best auto-decided share win
        on core AP (default 0: the rule above). Not the default: it exists to measure the loop at seed 14, whose
        start model kept floor 0 at 0.63 auto-decided and core AP 0.624 against 0.61 / 0.686 at floor 0.5
        (benchmarks/simulation/seed14.md).
        """
        if self.config.core_weights is not None:
            self.blend["core"] = {n: float(v) for n, v in self.config.core_weights.items() if n in parts}
        self.blend["large_floor"] = 0.0
        rel, cls, exact, _, _ = label_matrix(validation)
        known = class_known(rel, exact)
        y = (cls == 2) & known
        floors = sorted(set(self.config.large_floors) | {0.0})
        if len(floors) < 2 or _weighted(parts, self.blend.get("core", self.blend["relevance"]), "large") is None \
                or not y.any() or y[known].all():
            self._calibrate(self._blend(parts), validation)
            return
        cfg = self.config
        fitted, scores = {}, {}
        for f in floors:
            self.blend["large_floor"] = float(f)
            raw = self._blend(parts)
            ap = _rel_ap(raw_core_logit(raw, cfg.core_exponent)[known], y[known])
            cal, th = calibrate(raw, validation, cfg.precision_target, cfg.npv_target, cfg.feed_prior,
                                cfg.core_exponent)
            cv = th.core_validation
            key = (cv.get("accept_share", 0.0) > 0, round(float(cv.get("auto_share", 0.0)), 2), round(float(ap), 6))
            scores[str(f)] = {"merges": key[0], "auto_share": key[1], "core_ap": key[2]}
            fitted[f] = (key, cal, th)
        merging = [f for f in floors if fitted[f][0][0]] or floors
        top = max(fitted[f][0][1] for f in merging)
        near = [f for f in merging if fitted[f][0][1] >= top - cfg.large_floor_share_tolerance - 1e-9]
        pick = max(near, key=lambda f: (fitted[f][0][2], fitted[f][0][1], -f))  # best AP, then share, lowest floor
        self.blend["large_floor"] = float(pick)
        self.calibration, self.thresholds = fitted[pick][1], fitted[pick][2]
        self.info["large_floor_validation"] = scores

    def _blend(self, parts) -> RawScores:
        wr, wc = self.blend["relevance"], self.blend["categories"]
        wk = self.blend.get("core", wr)  # models saved before the core blend used the relevance weights
        gate = parts["audio_gate"]["relevance"] if "audio_gate" in parts else 0.0
        wcr = self.blend.get("core_relevance")  # None: the core score is built on the relevance logit
        return RawScores(
            relevance=sum(w * parts[n]["relevance"] for n, w in wr.items() if n in parts) + gate,
            relevance_class=parts["net"]["relevance_class"],
            categories=sum(w * parts[n]["categories"] for n, w in wc.items() if n in parts),
            subcategories=sum(w * parts[n]["subcategories"] for n, w in wc.items() if n in parts),
            cond=_weighted(parts, wk, "cond"), large=_floored(_weighted(parts, wk, "large"), parts,
                                                              self.blend.get("large_floor", 0.0)),
            category_hits=parts.get(KEYWORD_HITS, {}).get("category_hits"),
            subcategory_hits=parts.get(KEYWORD_HITS, {}).get("subcategory_hits"),
            core_relevance=None if wcr is None else _weighted(parts, wcr, "relevance") + gate,
        )

    def _calibrate(self, raw: RawScores, validation) -> None:
        cfg = self.config
        self.calibration, self.thresholds = calibrate(raw, validation, cfg.precision_target, cfg.npv_target,
                                                      cfg.feed_prior, cfg.core_exponent)

    def _scores_from_raw(self, raw: RawScores) -> Scores:
        return calibrated_scores(self.calibration, raw)

    # ---------------------------------------------------------------- prediction
    def head_logits(self, embeddings: np.ndarray) -> np.ndarray:
        """The output layer on embeddings this encoder already computed (``model.update`` caches them)."""
        torch = _torch()
        with torch.inference_mode():
            e = torch.from_numpy(np.ascontiguousarray(embeddings, dtype=np.float32)).to(self.device)
            return self.net.head(e).float().cpu().numpy()

    def raw_scores(self, records, progress=None, embeddings: np.ndarray | None = None) -> RawScores:
        """Blended logits; with ``embeddings`` (rows in ``records`` order) the encoder pass is skipped."""
        return self._blend(self._member_logits(records, progress, embeddings))

    def predict_proba(self, records, progress: Callable[[int], None] | None = None,
                      embeddings: np.ndarray | None = None) -> Scores:
        """Calibrated probabilities for records (dicts or Examples with title and abstract)."""
        if not records:
            return Scores(np.zeros(0), np.zeros((0, 3)), np.zeros((0, N_CAT)), np.zeros((0, N_SUB)))
        return self._scores_from_raw(self.raw_scores(records, progress, embeddings))

    # ---------------------------------------------------------------- persistence
    def save(self, out_dir: Path | str, extra: dict | None = None) -> Path:
        """Write everything needed to predict into one folder with a sha256 manifest (``artifacts``)."""
        from trust_tagger.model.artifacts import save_tagger

        return save_tagger(self, out_dir, extra)

    @classmethod
    def load(cls, model_dir: Path | str, device: str | None = None) -> "TrustTagger":
        """Load a saved model after checking every file against its manifest."""
        from trust_tagger.model.artifacts import load_tagger

        return load_tagger(cls, model_dir, device)


LARGE_MENTION = "large_mention"  # the part that marks papers naming a large audio model (no logits)
KEYWORD_HITS = "keyword_hits"  # the keyword rules' 0/1 category / subcategory hits (mixed in by calibration)


def _floored(large: np.ndarray | None, parts: dict, floor: float) -> np.ndarray | None:
    """The large logit raised to logit(``floor``) on papers that name a large / foundation audio model."""
    if large is None or not floor or LARGE_MENTION not in parts:
        return large
    return np.where(parts[LARGE_MENTION]["mask"], np.maximum(large, float(logit(floor))), large)


def _weighted(parts: dict, weights: dict[str, float], head: str) -> np.ndarray | None:
    """Blend of one head over the members that have it (weights renormalised); None if none has it."""
    have = {n: w for n, w in weights.items() if n in parts and head in parts[n] and w > 0}
    total = sum(have.values())
    return sum(w * parts[n][head] for n, w in have.items()) / total if total else None


def _val_score(z: np.ndarray, y, core_exponent: float = 0.75) -> float:
    """Early-stopping score: relevance AP, mean category AP (relevant papers) and, where the net has the
    core heads, core AP (papers whose class is known), equally weighted: the epoch kept is the one best
    at the maintainers' taste too, not only at relevance."""
    rel, cls, exact, cats, _ = y
    pos = rel > 0
    s = _rel_ap(z[:, 0], rel)
    c = _mean_ap(z[pos][:, SL_CAT], cats[pos]) if pos.any() else float("nan")
    parts = [s, c]
    if z.shape[1] >= SL_LARGE.stop:
        known = class_known(rel, exact)
        parts.append(_rel_ap(core_logit(z[known, 0], z[known, SL_COND.start], z[known, SL_LARGE.start], core_exponent),
                             (cls[known] == 2).astype(float)))
    return float(np.nanmean(parts))


def _simplex(k: int, step: float) -> list[tuple[float, ...]]:
    """All weight vectors with k entries, multiples of step, summing to 1; net-heavy ones first."""
    n = int(round(1 / step))
    out = []

    def rec(prefix, left, slots):
        if slots == 1:
            out.append(tuple(prefix + [left]))
            return
        for i in range(left, -1, -1):
            rec(prefix + [i], left - i, slots - 1)

    rec([], n, k)
    return [tuple(x * step for x in w) for w in out]
