"""TODO docstring (taxonomy, from review.py)."""

from __future__ import annotations

# Used only when no list directory is at hand (tests, a store inspected on its own): the labeling guide.
GUIDE_TAXONOMY: dict[str, list[str]] = {
    "safety": ["jailbreak", "alignment", "deepfake", "prompt_injection", "defense", "general"],
    "security": ["adversarial_examples", "attack", "poison_and_backdoor", "general"],
    "privacy": ["watermark_and_copyright", "general"],
    "fairness": ["general"],
    "hallucination": ["general"],
    "robustness": ["general"],
    "interpretability": ["general"],
}



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
