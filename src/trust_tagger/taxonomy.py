"""The label taxonomy of the labeling guide (``docs/LABELING_GUIDE.md``), defined once.

The classifier's heads, the dataset builder, routing and the review screens all read these tuples;
the list itself may hold more files (``taxonomy_gaps`` says which guide subcategories a list lacks
and which list files the guide does not name, so a drift is reported instead of silently ignored).
"""

from __future__ import annotations

from collections.abc import Iterable

CATEGORIES: tuple[str, ...] = (
    "safety", "security", "privacy", "fairness", "hallucination", "robustness", "interpretability",
)
SUBCATEGORIES: tuple[str, ...] = (
    "safety/jailbreak", "safety/alignment", "safety/deepfake", "safety/prompt_injection",
    "safety/defense", "safety/general",
    "security/adversarial_examples", "security/attack", "security/poison_and_backdoor", "security/general",
    "privacy/watermark_and_copyright", "privacy/general",
    "fairness/general", "hallucination/general", "robustness/general", "interpretability/general",
)
# List files whose name is not a subcategory of the labeling guide.
_SUB_ALIASES = {"safety/fairness": "fairness/general"}


def guide_taxonomy() -> dict[str, list[str]]:
    """category -> its subcategory keys ("safety/jailbreak"), in guide order."""
    out: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    for sub in SUBCATEGORIES:
        out[sub.split("/")[0]].append(sub)
    return out


def normalize_subcategory(sub: str) -> str | None:
    """Map a list file or label to a guide subcategory; None if it names no known category."""
    sub = sub.strip().strip("/")
    if sub.startswith("papers/"):
        sub = sub[len("papers/"):]
    if sub.endswith(".md"):
        sub = sub[:-3]
    sub = _SUB_ALIASES.get(sub, sub)
    if sub in SUBCATEGORIES:
        return sub
    cat = sub.split("/", 1)[0]
    return f"{cat}/general" if cat in CATEGORIES else None


def taxonomy_gaps(list_subcategories: Iterable[str]) -> dict[str, list[str]]:
    """Guide subcategories the list has no file for, and list files that are no guide subcategory."""
    listed = set(list_subcategories)
    return {"missing_in_list": sorted(set(SUBCATEGORIES) - listed),
            "not_in_guide": sorted(s for s in listed if s not in SUBCATEGORIES and s not in _SUB_ALIASES)}
