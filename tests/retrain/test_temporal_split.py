"""The temporal protocol: dense labels of the validation month choose, dense labels after it are only
reported, sampled labels from those months stay out of training, review decisions always train."""

from trust_tagger.retrain.dataset import Example, temporal_split


def ex(key, date, source, split="train"):
    return Example(arxiv_id=key, key=f"arxiv:{key}", title="t", abstract="a", arxiv_categories=[], date=date,
                   relevance=1, relevance_exact=True, categories=[], subcategories=[], audio_llm=None,
                   source=source, split=split)


def test_dense_months_validate_and_hold_out_and_the_future_stays_out_but_decisions_train():
    examples = [ex("old", "2026-01-10", "annotation"), ex("feb", "2026-02-10", "dense"),
                ex("mar", "2026-03-10", "dense"), ex("apr", "2026-04-10", "dense"),
                ex("mar-sampled", "2026-03-12", "annotation"), ex("may-sampled", "2026-05-02", "annotation"),
                ex("dec-decision", "2026-12-01", "decision"), ex("frozen", "2026-01-05", "annotation", split="test")]
    ts = temporal_split(examples, "2026-03-01", "2026-04-01")
    assert [e.arxiv_id for e in ts.train] == ["old", "feb", "dec-decision"]
    assert [e.arxiv_id for e in ts.validation] == ["mar"] and [e.arxiv_id for e in ts.holdout] == ["apr"]
    assert ts.left_out == 3  # two sampled future labels and the frozen test paper
