"""trust-tagger: finds trustworthy-audio-AI papers on arXiv and merges them into the awesome list."""

__version__ = "0.1.0"
