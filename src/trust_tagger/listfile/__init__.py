"""TODO listfile."""
