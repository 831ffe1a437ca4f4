"""Test doubles shared across rooms.

``keyword_classify`` is a transparent stand-in for the model's classify contract, so routing outcomes
are known in advance: "jailbreak" papers are accepted into safety/jailbreak, "spoof"/"deepfake" ones
are queued for review, everything else is rejected."""


def keyword_classify(records):
    out = []
    for r in records:
        text = (r["title"] + " " + r["abstract"]).lower()
        jail = "jailbreak" in text
        spoof = "spoof" in text or "deepfake" in text
        rel = 0.97 if jail else 0.5 if spoof else 0.02
        decision = "accept" if jail else "review" if spoof else "reject"
        out.append({"arxiv_id": r["arxiv_id"], "relevance": rel, "relevance_class": 2 if jail else 0,
                    "labels": ["safety"] if (jail or spoof) else [],
                    "categories": {"safety": rel}, "subcategories": {"safety/jailbreak": 0.9 if jail else 0.1,
                                                                      "safety/deepfake": 0.8 if spoof else 0.1},
                    "targets": ["safety/jailbreak"] if jail else ["safety/deepfake"] if spoof else [],
                    "decision": decision, "model_version": "kw-test"})
    return out


def keyword_steps(fail_at: str | None = None):
    """A ``run_nightly`` step runner that classifies with :func:`keyword_classify` instead of the
    registry's model, and can make the step named ``fail_at`` raise."""
    from trust_tagger.nightly import run as N
    from trust_tagger.nightly import steps as S

    def run_step(fn, *args, **kwargs):
        if fn.__name__ == fail_at:
            raise RuntimeError(f"{fn.__name__} exploded")
        if fn is N.classify_route:
            store, _settings, keys = args
            return S.classify_and_route(store, keys, keyword_classify, "kw-test", lambda p: p["relevance"])
        return fn(*args, **kwargs)

    return run_step
