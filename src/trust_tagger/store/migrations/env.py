"""Alembic's environment for the store.

``Store`` passes its own connection (``config.attributes["connection"]``); the ``alembic`` command
line (``alembic.ini`` at the project root, e.g. ``alembic revision --autogenerate -m "..."``) opens the
configured store instead. SQLite gets batch mode, so later migrations can alter columns there too.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from trust_tagger.store.schema import Base

config = context.config


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from trust_tagger.config import load_settings

    return load_settings().resolved_db_url


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:
    _run(config.attributes["connection"])
else:
    with create_engine(_url()).connect() as conn:
        _run(conn)
        conn.commit()
