"""Feed lines an attacker (or a broken exporter) can write, each with the reason it must be skipped for.

Every reader of JSON lines (the nightly's snapshot, ``classify``'s input) must skip each of these with
its line number and go on; shared by the tests and ``benchmarks/reliability_feed.py``."""

from __future__ import annotations

import json


def _line(**fields) -> bytes:
    base = {"arxiv_id": "2602.90001", "title": "A poisoned record", "abstract": "It must be skipped.",
            "date": "2026-02-03"}
    return json.dumps({**base, **fields}).encode()


# (name, raw line, a fragment of the reason it is skipped for)
POISON: list[tuple[str, bytes, str]] = [
    ("version 1e400 (float infinity)", _line().replace(b'"date"', b'"version": 1e400, "date"'), "bad version inf"),
    ("5,000-digit version", _line().replace(b'"date"', b'"version": ' + b"9" * 5000 + b', "date"'),
     "unreadable JSON"),
    ("4,000-digit version (valid JSON)", _line().replace(b'"date"', b'"version": ' + b"9" * 4000 + b', "date"'),
     "bad version 999"),
    ("100,000-deep [", b"[" * 100_000, "unreadable JSON"),
    ("lone surrogate in the title", _line(title="\ud800 jailbreak"), "title has broken unicode"),
    ("lone surrogate in the abstract", _line(abstract="speech \udfff"), "abstract has broken unicode"),
    ("lone surrogate in an author", _line(authors=["\ud800"]), "authors have broken unicode"),
    ("invalid UTF-8", b'{"arxiv_id": "2602.90002", "title": "\xff\xfe", "abstract": "A", "date": "2026-02-03"}',
     "not valid UTF-8"),
    ("not JSON", b"{not json", "not valid JSON"),
    ("not an object", b'["2602.90003", "T"]', "record is not an object"),
    ("boolean version", _line(version=True), "bad version True"),
    ("negative version", _line(version=-3), "bad version -3"),
    ("version 2.5", _line(version=2.5), "bad version 2.5"),
    ("version NaN", _line().replace(b'"date"', b'"version": NaN, "date"'), "bad version nan"),
    ("numeric arXiv id", _line(arxiv_id=260290004), "missing or invalid arXiv id"),
    ("title a list", _line(title=["x"]), "title is not text"),
    ("empty abstract", _line(abstract="  "), "abstract is empty"),
    ("2 MB title", _line(title="x" * 2_000_000), "title has 2000000 characters"),
    ("authors a list of objects", _line(authors=[{"name": "x"}]), "authors must be a list of text"),
    ("numeric date", _line(date=20260203), "bad date"),
]
