"""Opening the store: concurrent creators of a fresh database, stores made before migrations, and the
one-line errors a user's mistake gets (issue 10, cases 15 and 16)."""

import multiprocessing as mp
import sqlite3

import pytest

from trust_tagger.store import database as D
from trust_tagger.store.store import Store


def _open(url, barrier, results):
    barrier.wait()  # all at once: the race window of inspect-then-CREATE is microseconds wide
    try:
        Store(url)
        results.put("ok")
    except Exception as exc:  # what a nightly would have died of
        results.put(f"{type(exc).__name__}: {exc}")


def test_two_processes_creating_one_fresh_sqlite_store_both_succeed(tmp_path):
    """Two nightlies on a fresh database: one used to crash with `table ... already exists` (10 of 10 tries)."""
    ctx = mp.get_context("fork")
    D._head()  # load alembic before forking, so both children reach the schema at the same moment
    outcomes = []
    for trial in range(3):
        url = f"sqlite:///{tmp_path / f'fresh{trial}.db'}"
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_open, args=(url, barrier, results)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=60)
        outcomes += [results.get(timeout=5) for _ in procs]
        tables = {r[0] for r in sqlite3.connect(tmp_path / f"fresh{trial}.db").execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"papers", "review_items", "alembic_version"} <= tables
    assert outcomes == ["ok"] * 6


def test_a_store_made_by_create_all_joins_the_migrations_and_keeps_its_rows(tmp_path):
    from sqlalchemy import create_engine

    from trust_tagger.ingest.records import Paper
    from trust_tagger.store.schema import Base

    url = f"sqlite:///{tmp_path / 'old.db'}"
    Base.metadata.create_all(create_engine(url))  # how every store was made before migrations
    conn = sqlite3.connect(tmp_path / "old.db")
    conn.execute("INSERT INTO papers (key, arxiv_id, title, abstract, authors, categories, date, source, status, "
                 "labels, merged_files, first_seen, updated_at) VALUES ('arxiv:2601.00001', '2601.00001', 'T', 'A', "
                 "'[]', '[]', '2026-01-02', 'snapshot', 'new', '[]', '[]', '2026-01-02', '2026-01-02')")
    conn.commit()
    conn.close()

    store = Store(url)
    assert [p.key for p in store.papers()] == ["arxiv:2601.00001"]
    assert D._current_revision(store.engine) == D._head()
    store.upsert_paper(Paper(arxiv_id="2601.00002", title="T2", abstract="A2", date="2026-01-03"), "snapshot")
    assert len(Store(url).papers()) == 2


def test_a_store_at_the_first_revision_gains_the_core_and_policy_columns_and_keeps_its_predictions(tmp_path):
    """A store of the v1 era (revision 0001: predictions without ``core`` / ``policy``) upgrades on open;
    its predictions survive with no core score."""
    from alembic import command
    from sqlalchemy import create_engine

    url = f"sqlite:///{tmp_path / 'v1.db'}"
    engine = create_engine(url)
    cfg = D._alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, "0001")
        finally:
            cfg.attributes.pop("connection", None)
    conn = sqlite3.connect(tmp_path / "v1.db")
    assert "core" not in {row[1] for row in conn.execute("PRAGMA table_info(predictions)")}
    conn.execute("INSERT INTO papers (key, arxiv_id, title, abstract, authors, categories, date, source, status, "
                 "labels, merged_files, first_seen, updated_at) VALUES ('arxiv:2601.00001', '2601.00001', 'T', 'A', "
                 "'[]', '[]', '2026-01-02', 'snapshot', 'new', '[]', '[]', '2026-01-02', '2026-01-02')")
    conn.execute("INSERT INTO predictions (key, paper_version, model_version, relevance, relevance_class, labels, "
                 "categories, subcategories, targets, decision, created_at) VALUES ('arxiv:2601.00001', 1, 'v1', 0.9, 2, "
                 "'[]', '{}', '{}', '[]', 'accept', '2026-01-02')")
    conn.commit()
    conn.close()
    store = Store(url)
    assert D._current_revision(store.engine) == D._head()
    pred = store.latest_prediction("arxiv:2601.00001")
    assert (pred.model_version, pred.relevance, pred.core, pred.policy) == ("v1", 0.9, None, None)


def test_a_half_created_store_is_completed(tmp_path):
    """A create_all killed after the first tables: the initial revision creates only what is missing."""
    conn = sqlite3.connect(tmp_path / "half.db")
    conn.execute("CREATE TABLE meta (name VARCHAR(100) NOT NULL PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('watermark:snapshot', '2026-01-31')")
    conn.commit()
    conn.close()
    store = Store(f"sqlite:///{tmp_path / 'half.db'}")
    assert store.get_meta("watermark:snapshot") == "2026-01-31" and store.papers() == []


@pytest.mark.parametrize("url, expected", [
    ("data/trust_tagger.db", "is not a database URL; use e.g. sqlite:///"),
    ("nonsense://host/db", "unknown database kind 'nonsense'"),
    ("sqlite:////nonexistent-folder/x.db", "the folder /nonexistent-folder does not exist"),
])
def test_a_mistyped_db_is_one_clear_store_error(url, expected):
    with pytest.raises(D.StoreError, match=expected):
        Store(url)


def test_a_database_path_that_is_a_folder_is_a_store_error(tmp_path):
    with pytest.raises(D.StoreError, match="cannot open the store sqlite:///.*unable to open database file"):
        Store(f"sqlite:///{tmp_path}")


def test_postgres_without_its_driver_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as on an install without the postgres extra
    with pytest.raises(D.StoreError, match=r"pip install 'trust-tagger\[postgres\]'") as info:
        Store("postgresql://tagger:secret@db.example/papers")
    assert "secret" not in str(info.value) and "***" in str(info.value)


def test_the_migrations_build_exactly_the_schema_of_schema_py(tmp_path):
    """schema.py changed without a migration? `alembic revision --autogenerate -m "..."` writes it."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from trust_tagger.store.schema import Base

    store = Store(f"sqlite:///{tmp_path / 'head.db'}")
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
