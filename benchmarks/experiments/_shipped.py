"""The shipped members fitted into a saved benchmark-protocol model, as ``TrustTagger.fit`` does after its
fine-tune: one place for every experiment that measures a step after the fine-tune on saved models."""
import dataclasses

from trust_tagger.model.config import TrainConfig
from trust_tagger.model.heads import label_matrix


def recalibrate(m, val) -> None:
    """Blend, large floor, calibration and thresholds chosen on ``val`` by the tagger's own steps."""
    parts = m._member_logits(val)
    m._set_blend(parts, label_matrix(val))
    m._set_core_blend(parts, val)


def fit_shipped_members(m, train, val):
    """``m`` with the default config's members (and their shares) fitted on ``train``, recalibrated on ``val``."""
    d = TrainConfig()
    m.config = dataclasses.replace(m.config, members=d.members, relevance_shares=d.relevance_shares,
                                   neighbour_k=d.neighbour_k, neighbour_temperature=d.neighbour_temperature)
    m._fit_members(train)
    recalibrate(m, val)
    return m
