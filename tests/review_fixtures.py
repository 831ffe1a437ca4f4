"""Papers and predictions for the review tests, routed the way the nightly pipeline routes them."""

from __future__ import annotations

from trust_tagger.ingest.records import Paper
from trust_tagger.routing import Thresholds, filed_subcategories, review_priority
from trust_tagger.store.store import Store

THRESHOLDS = (0.1, 0.9)
CATS = ("safety", "security", "privacy", "fairness", "hallucination", "robustness", "interpretability")
XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'


def prediction(relevance: float, rel_class: int, subs: dict[str, float], decision: str = "review",
               model_version: str = "m-test-1") -> dict:
    labels = sorted({k.split("/")[0] for k, p in subs.items() if p >= 0.5})
    cats = {c: (0.9 if c in labels else 0.05) for c in CATS}
    return {"model_version": model_version, "relevance": relevance, "relevance_class": rel_class,
            "labels": labels, "categories": cats, "subcategories": subs, "decision": decision}


# key suffix -> (title, abstract, date, prediction)
PAPERS = {
    "2601.00001": ("Whisper-Jail: Jailbreaking Speech LLMs with Spoken Role Play",
                   "We jailbreak audio language models with role-play voices.", "2026-01-05",
                   prediction(0.86, 2, {"safety/jailbreak": 0.83, "safety/deepfake": 0.1})),
    "2601.00002": ("Detecting Cloned Voices with Self-Supervised Features",
                   "A spoof detector for voice cloning.", "2026-01-06",
                   prediction(0.55, 1, {"safety/deepfake": 0.71, "security/attack": 0.2})),
    "2601.00003": ("Faster Conformer Training for Low-Resource ASR",
                   "We speed up ASR training; robust to noise.", "2026-01-07",
                   prediction(0.14, 0, {"robustness/general": 0.3})),
    "2601.00004": ("[bold]Markup[/bold] and <b>tags</b> in a title",
                   "An abstract that tries " + XSS + " to run code.", "2026-01-08",
                   prediction(0.5, 1, {"privacy/general": 0.6})),
    "2601.00005": ("Voice Jailbreak Attacks Against GPT-4o models",
                   "Near-duplicate title of a paper already on the list.", "2026-01-09",
                   prediction(0.8, 2, {"safety/jailbreak": 0.9})),
}
AUTO = {
    "2601.00010": ("Backdoor Triggers in Speech Foundation Models", "Poisoning wav2vec.", "2026-01-02",
                   prediction(0.95, 2, {"security/poison_and_backdoor": 0.9}, "accept"), "accepted"),
    "2601.00011": ("Audio Hallucination Benchmark for LALMs", "LALMs claim unheard sounds.", "2026-01-03",
                   prediction(0.05, 2, {"hallucination/general": 0.8}, "reject"), "rejected"),
}


def key(arxiv_id: str) -> str:
    return f"arxiv:{arxiv_id}"


def add_paper(store: Store, arxiv_id: str, title: str, abstract: str, date: str, pred: dict,
              status: str = "review", version: int = 1) -> int:
    paper = Paper(arxiv_id=arxiv_id, title=title, abstract=abstract, date=date, version=version,
                  authors=["Ada Lovelace", "Alan <Turing>"], categories=["cs.SD"])
    store.upsert_paper(paper, "snapshot")
    targets = filed_subcategories(pred, Thresholds())
    row = store.add_prediction(paper.key, {**pred, "targets": targets}, version)
    if status == "review":
        store.set_status(paper.key, "review", labels=targets, decided_by=f"model:{pred['model_version']}")
        store.enqueue(paper.key, row.id, review_priority(pred, THRESHOLDS))
    elif status == "accepted":
        store.set_status(paper.key, "accepted", labels=targets, relevance=pred["relevance_class"],
                         decided_by=f"model:{pred['model_version']}")
    else:
        store.set_status(paper.key, "rejected", labels=[], relevance=0, decided_by=f"model:{pred['model_version']}")
    return row.id


def seed(store: Store) -> None:
    for arxiv_id, (title, abstract, date, pred) in PAPERS.items():
        add_paper(store, arxiv_id, title, abstract, date, pred)
    for arxiv_id, (title, abstract, date, pred, status) in AUTO.items():
        add_paper(store, arxiv_id, title, abstract, date, pred, status)


# Real papers from the bundled snapshot (titles, authors, full abstracts), for screens and timings that
# should look like a real queue. Predictions are invented, spread over the routing band.
SNAPSHOT = "data/raw/arxiv-audio-papers.jsonl.gz"
_TARGETS = ["safety/jailbreak", "safety/deepfake", "security/attack", "privacy/general", "fairness/general",
            "robustness/general", "hallucination/general"]


def seed_snapshot(store: Store, root, n: int = 20, since: str = "2025-06-01") -> list[str]:
    """Queue ``n`` real papers (the first listed on or after ``since``); returns their keys."""
    from trust_tagger.ingest.records import MalformedRecord, paper_from_dict
    from trust_tagger.ingest.sources import read_feed

    papers = []
    for raw in read_feed(root / SNAPSHOT):
        try:
            paper = paper_from_dict(raw)
        except (MalformedRecord, TypeError):
            continue
        if paper.date >= since and len(paper.abstract) > 600:
            papers.append(paper)
    from trust_tagger.model.baselines import keyword_evidence

    papers = sorted(papers, key=lambda p: (p.date, p.key))[:n]
    for i, paper in enumerate(papers):
        store.upsert_paper(paper, "snapshot")
        hits = [label for _, _, label in keyword_evidence(paper.title + " " + paper.abstract, _TARGETS)]
        sub = hits[0] if hits else _TARGETS[i % len(_TARGETS)]
        rel = 0.15 + 0.8 * ((i * 37) % 100) / 100
        pred = prediction(round(rel, 2), 2 if rel > 0.6 else 1 if rel > 0.3 else 0,
                          {sub: 0.55 + 0.4 * rel, "robustness/general": 0.12})
        targets = filed_subcategories(pred, Thresholds())
        row = store.add_prediction(paper.key, {**pred, "targets": targets}, paper.version)
        store.set_status(paper.key, "review", labels=targets, decided_by="model:m-test-1")
        store.enqueue(paper.key, row.id, review_priority(pred, THRESHOLDS))
    return [p.key for p in papers]
