"""TODO nightly."""
