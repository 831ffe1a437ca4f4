"""Learning from labels: the dataset, training a version, evaluation and its report, the promotion
gate, the label audit, and the retrain loop that threads them."""
