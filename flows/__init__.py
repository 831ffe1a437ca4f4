"""Prefect flows: thin wrappers over trust_tagger library functions."""
