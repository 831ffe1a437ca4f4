"""The network: the sentence encoder plus one linear output layer over its normalised mean-pooled
embedding, and the layout of that layer's outputs
(relevance | class 0,1,2 | categories | subcategories | core given relevant | large audio model)."""

from __future__ import annotations

from trust_tagger.model.encoder import mean_pool
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES

N_CAT, N_SUB = len(CATEGORIES), len(SUBCATEGORIES)
# Layout of the single output layer: [relevance | class 0,1,2 | categories | subcategories | cond | large].
SL_REL, SL_CLS, SL_CAT, SL_SUB = slice(0, 1), slice(1, 4), slice(4, 4 + N_CAT), slice(4 + N_CAT, 4 + N_CAT + N_SUB)
SL_COND, SL_LARGE = slice(SL_SUB.stop, SL_SUB.stop + 1), slice(SL_SUB.stop + 1, SL_SUB.stop + 2)
N_OUT = SL_LARGE.stop  # models saved before the core heads have SL_SUB.stop outputs and still load


def _torch():
    import torch

    return torch


def build_net(encoder, dropout: float = 0.1, n_out: int = N_OUT):
    """The encoder plus one linear output layer over the normalised mean-pooled embedding."""
    torch = _torch()
    nn = torch.nn

    class TrustNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(dropout)
            self.head = nn.Linear(encoder.config.hidden_size, n_out)

        def embed(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return nn.functional.normalize(mean_pool(hidden, attention_mask), dim=-1)

        def forward(self, input_ids, attention_mask):
            return self.head(self.dropout(self.embed(input_ids, attention_mask)))

    return TrustNet()
