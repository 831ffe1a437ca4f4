"""The one interface the nightly flow classifies through: the registry's current model, its own
routing thresholds, and the review-queue priority computed from those same thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trust_tagger.config import Settings


@dataclass
class Classifier:
    model: Any  # model.TrustTagger, loaded and integrity-checked by the registry
    version: str
    policy: str = "core"  # settings.merge_policy

    def classify(self, records: list[dict]) -> list[dict]:
        """The classify contract plus ``targets``: the subcategory files an accepted paper goes to,
        chosen with the same per-subcategory thresholds that made the accept decision."""
        from trust_tagger.model.predict import classify_records
        from trust_tagger.routing import filed_subcategories

        preds = classify_records(self.model, records, policy=self.policy)
        for pred in preds:
            pred["targets"] = filed_subcategories(pred, self.model.thresholds)
        return preds

    def review_priority(self, pred: dict) -> float:
        from trust_tagger.routing import review_priority

        return review_priority(pred, thresholds=self.model.thresholds, policy=self.policy)


def load_classifier(settings: Settings) -> Classifier:
    """The current model of the registry (raises a clear error when none was trained yet)."""
    from trust_tagger.model import registry as registry

    model = registry.load_current(settings)
    return Classifier(model=model, version=str(model.version), policy=settings.merge_policy)
