"""Replaying months of nights, reviews and retrains to measure the loop (``trust-tagger simulate``)."""
