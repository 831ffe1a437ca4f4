"""Alembic migrations of the store (``Store`` runs ``upgrade head`` when it opens a database)."""
