"""The classifier: contracts, encoder, network, fine-tuning, heads + calibration + thresholds, the
tagger that composes them, baselines, saved artifacts, the registry and the classify contract."""
