"""One file per schema revision; ``alembic revision --autogenerate -m "..."`` (alembic.ini at the root) writes the next."""
