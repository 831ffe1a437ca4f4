"""The merge under crashes, concurrency and hostile input (issue 10, items 1-7): the list is the truth per
target file, one writer at a time, only real lists are written, every paper gets its own line, what is
written is clean, an unreadable file is named, symlinks are written through and stale temp files go."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT
from trust_tagger import files
from trust_tagger.listfile import merge as M
from trust_tagger.listfile.index import load_list_index
from trust_tagger.listfile.merge import MergeItem, clean_title, format_line, merge_papers
from trust_tagger.listfile.parse import parse_line, parse_list

JAIL, ATTACK = "papers/safety/jailbreak.md", "papers/security/attack.md"


def _item(arxiv_id: str, *targets: str, title: str = "", date: dt.date = dt.date(2026, 2, 3)) -> MergeItem:
    return MergeItem.from_arxiv(arxiv_id, title or f"Trust in Audio Models {arxiv_id}", date, targets)


def _count(list_dir: Path, file: str, arxiv_id: str) -> int:
    """How many lines of the file link the paper."""
    return (list_dir / file).read_text(encoding="utf-8").count(f"arxiv.org/abs/{arxiv_id})")


def _tree(list_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(list_dir).as_posix(): p.read_bytes() for p in sorted(list_dir.rglob("*")) if p.is_file()}


# --- 1: the list is the truth per target file ------------------------------------------------------------
def test_a_merge_killed_between_two_files_is_completed_by_the_next(list_copy, monkeypatch):
    item = _item("2602.99991", "safety/jailbreak", "security/attack")
    real_write, writes = M.atomic_write_text, []

    def killed_after_one_file(path, text):
        if writes:
            raise KeyboardInterrupt("killed between the two files")
        writes.append(path)
        real_write(path, text)

    monkeypatch.setattr(M, "atomic_write_text", killed_after_one_file)
    with pytest.raises(KeyboardInterrupt):
        merge_papers(list_copy, [item])
    monkeypatch.undo()
    assert sum(_count(list_copy, f, "2602.99991") for f in (JAIL, ATTACK)) == 1  # half the paper reached the list

    again = merge_papers(list_copy, [item])
    assert [f for f, _ in again.added] == [f for f in (JAIL, ATTACK) if f not in {writes[0].relative_to(list_copy).as_posix()}]
    assert _count(list_copy, JAIL, "2602.99991") == 1 and _count(list_copy, ATTACK, "2602.99991") == 1
    assert again.placed == {item.key: [JAIL, ATTACK]}
    third = merge_papers(list_copy, [item], dry_run=True)
    assert (third.added, third.diff, third.already_listed) == ([], "", [item.key])


def test_a_paper_placed_by_the_maintainers_elsewhere_is_still_left_alone(list_copy):
    # 2511.10222 is in README and security/attack.md only: filed to jailbreak, it is not added there
    before = _tree(list_copy)
    result = merge_papers(list_copy, [_item("2511.10222", "safety/jailbreak")])
    assert result.added == [] and result.already_listed == ["arxiv:2511.10222"] and _tree(list_copy) == before


# --- 2: one writer at a time ----------------------------------------------------------------------------
def test_two_merges_that_read_at_the_same_time_keep_both_lines(list_copy, monkeypatch):
    """Each merge reads the list, then waits for the other to have read it too (as two processes would
    by chance): without a lock both write what they read and one line is lost."""
    both_read = threading.Barrier(2, timeout=0.5)
    real_parse = M.parse_list

    def parse_then_wait(list_dir):
        snapshot = real_parse(list_dir)
        try:
            both_read.wait()
        except threading.BrokenBarrierError:
            pass  # the other merge is waiting for the lock, as it should
        return snapshot

    monkeypatch.setattr(M, "parse_list", parse_then_wait)
    errors: list[BaseException] = []

    def merge(arxiv_id):
        try:
            merge_papers(list_copy, [_item(arxiv_id, "safety/jailbreak")])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=merge, args=(a,)) for a in ("2602.99991", "2602.99992")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _count(list_copy, JAIL, "2602.99991") == 1 and _count(list_copy, JAIL, "2602.99992") == 1


CHILD = """
import datetime as dt, pathlib, sys, time
from trust_tagger.listfile.merge import MergeItem, merge_papers
list_dir, go, first = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3])
while not go.exists():
    time.sleep(0.01)
items = [MergeItem.from_arxiv(f"2603.{first + i:05d}", f"Concurrent paper {first + i}", dt.date(2026, 3, 2),
                              ["safety/jailbreak", "security/attack"]) for i in range(3)]
merge_papers(list_dir, items)
"""


def test_concurrent_merge_processes_lose_no_line(list_copy, tmp_path):
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(list_copy), str(go), str(10 * n)], env=env)
             for n in range(4)]
    time.sleep(0.5)  # let them import and wait on the start signal, not a timing assertion
    go.touch()
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    for n in range(4):
        for i in range(3):
            arxiv_id = f"2603.{10 * n + i:05d}"
            assert _count(list_copy, JAIL, arxiv_id) == 1 and _count(list_copy, ATTACK, arxiv_id) == 1, arxiv_id


def test_a_second_writer_says_it_waits_then_gives_up_clearly(list_copy, monkeypatch, caplog):
    from trust_tagger.files import LockTimeout, directory_lock

    monkeypatch.setattr(files, "LOCK_NOTICE_SECONDS", 0.05)
    held, release = threading.Event(), threading.Event()

    def holder():
        with directory_lock(list_copy):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(LockTimeout, match="another process has been writing"):
            merge_papers(list_copy, [_item("2602.99991", "safety/jailbreak")], lock_timeout=0.2)
        assert "waiting for another writer" in caplog.text
        assert _count(list_copy, JAIL, "2602.99991") == 0
        threading.Timer(0.2, release.set).start()  # the holder finishes while the next merge waits
        merge_papers(list_copy, [_item("2602.99991", "safety/jailbreak")], lock_timeout=10)
    finally:
        release.set()
        t.join()
    assert _count(list_copy, JAIL, "2602.99991") == 1
    assert not any(p.name.endswith(".lock") for p in list_copy.rglob("*"))  # the lock lives beside the list


# --- 3: only a list is written ---------------------------------------------------------------------------
def test_a_folder_that_is_not_a_list_is_refused_and_not_created(tmp_path, list_copy):
    from trust_tagger.listfile.guard import NotAListError, init_list

    typo = tmp_path / "awesome-lsit"
    with pytest.raises(NotAListError, match="awesome-lsit is not an awesome list .*--init"):
        merge_papers(typo, [_item("2602.99991", "safety/jailbreak")])
    assert not typo.exists()
    project_like = tmp_path / "project"
    (project_like / "src").mkdir(parents=True)
    (project_like / "README.md").write_text("# a project\n")
    with pytest.raises(NotAListError, match="has no papers/"):
        merge_papers(project_like, [_item("2602.99991", "safety/jailbreak")])
    assert sorted(p.name for p in project_like.iterdir()) == ["README.md", "src"]
    with pytest.raises(NotAListError, match="not empty"):
        init_list(project_like)

    fresh = tmp_path / "new-list"
    assert init_list(fresh) and not init_list(fresh)
    merge_papers(fresh, [_item("2602.99991", "safety/jailbreak")])
    assert _count(fresh, JAIL, "2602.99991") == 1
    assert init_list(list_copy) is False


# --- 4: two papers, one title ----------------------------------------------------------------------------
def test_two_different_papers_with_one_title_both_get_their_line(list_copy):
    title = "Audio Deepfake Detection: A Survey"
    items = [_item("2602.99991", "safety/deepfake", title=title), _item("2602.99992", "safety/deepfake", title=title)]
    result = merge_papers(list_copy, items)
    assert len(result.added) == 2 and result.placed == {i.key: ["papers/safety/deepfake.md"] for i in items}
    keys = [e.key for e in parse_list(list_copy).entries if e.title == title]
    assert sorted(keys) == ["arxiv:2602.99991", "arxiv:2602.99992"]
    again = merge_papers(list_copy, items)
    assert again.added == [] and again.already_listed == [i.key for i in items]


# --- 5: what is written is clean -------------------------------------------------------------------------
HOSTILE = {
    "script": "Robust ASR <script>alert(document.cookie)</script> Now",
    "img": 'Speech <img src=x onerror="alert(1)"> Models',
    "comment": "Audio LLMs <!-- the rest of the file disappears",
    "link": "Click [here](javascript:alert(1)) for Audio",
    "autolink": "Voice <javascript:alert(1)> Cloning",
    "nul": "Null\x00Byte\x07Audio\x1b[31m",
    "bidi": "Deepfake \u202eTXT.EXE\u202c \u2066isolate\u2069 detection \u200b",
    "surrogate": "Lone \ud800 surrogate audio",
    "backslash": "Ends with a backslash \\",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_titles_are_written_as_plain_text(name, list_copy):
    title = HOSTILE[name]
    result = merge_papers(list_copy, [_item("2602.99991", "safety/jailbreak", title=title)])
    [(_, line)] = result.added
    for bad in ("<", ">", "\x00", "\x07", "\x1b", "\u202e", "\u2066", "\u200b", "\ud800", "javascript:", "\\]", "\\*"):
        assert bad not in line, (name, line)
    entry = parse_line(line)
    assert entry is not None and entry.key == "arxiv:2602.99991" and entry.link == "https://arxiv.org/abs/2602.99991"
    (list_copy / JAIL).read_bytes().decode("utf-8")  # the file stays valid UTF-8


def test_a_huge_title_is_capped_and_html_looking_math_survives():
    line = format_line("dated", dt.date(2026, 2, 3), "Audio " * 20_000, "https://arxiv.org/abs/2602.99991")
    assert len(parse_line(line).title) <= M.MAX_TITLE_CHARS and parse_line(line).title.endswith("…")
    assert clean_title("Bounds when $x<y$ & y > z") == "Bounds when $x&lt;y$ & y &gt; z"
    assert clean_title("A <b>bold</b> claim") == "A bold claim"


def test_links_must_be_http_to_a_known_host():
    for link in ("javascript:alert(1)", "https://evil.example/abs/2602.99991", "https://arxiv.org/abs/1<script>",
                 'https://arxiv.org/abs/1"onmouseover=x', "data:text/html,hi"):
        with pytest.raises(ValueError):
            format_line("dated", dt.date(2026, 2, 3), "Title", link)
    assert format_line("dated", dt.date(2026, 2, 3), "T", "https://openreview.net/forum?id=vCej5sO61x")


def test_an_item_whose_line_cannot_be_written_is_reported_not_merged(list_copy):
    good, bad = _item("2602.99991", "safety/jailbreak"), _item("2602.99992", "safety/jailbreak", title="<script></script>")
    result = merge_papers(list_copy, [bad, good])
    assert [key for key, _ in result.skipped] == [bad.key] and "empty title" in result.skipped[0][1]
    assert result.placed[bad.key] == [] and result.placed[good.key] == [JAIL]
    assert _count(list_copy, JAIL, "2602.99991") == 1 and _count(list_copy, JAIL, "2602.99992") == 0


# --- 6: a file that is not UTF-8 ---------------------------------------------------------------------------
def test_a_non_utf8_byte_is_named_by_file_and_line_and_the_merge_writes_nothing(list_copy, caplog):
    from trust_tagger.listfile.parse import ListEncodingError

    deepfake = list_copy / "papers/safety/deepfake.md"
    lines = deepfake.read_bytes().split(b"\n")
    lines[2] = lines[2] + b" caf\xe9"
    deepfake.write_bytes(b"\n".join(lines))
    before = _tree(list_copy)
    with pytest.raises(ListEncodingError, match=r"papers/safety/deepfake\.md:3: not valid UTF-8 \(byte 0xe9"):
        merge_papers(list_copy, [_item("2602.99991", "safety/jailbreak")])
    assert _tree(list_copy) == before
    with caplog.at_level(logging.WARNING):
        snapshot = parse_list(list_copy)  # readers skip the file, with a warning naming it
    assert [e.where for e in snapshot.unreadable] == ["papers/safety/deepfake.md:3"]
    assert "papers/safety/deepfake.md:3" in caplog.text
    assert not any(e.file == "papers/safety/deepfake.md" for e in snapshot.entries) and snapshot.entries
    assert load_list_index(list_copy).is_valid("safety/jailbreak")  # the review page keeps working


# --- 7: symlinks and stale temp files ------------------------------------------------------------------------
def test_a_symlinked_list_file_is_written_through(list_copy, tmp_path):
    shared = tmp_path / "shared" / "jailbreak.md"
    shared.parent.mkdir()
    shutil.move(list_copy / JAIL, shared)
    (list_copy / JAIL).symlink_to(shared)
    merge_papers(list_copy, [_item("2602.99991", "safety/jailbreak")])
    assert (list_copy / JAIL).is_symlink() and "2602.99991" in shared.read_text(encoding="utf-8")


def test_temp_files_left_by_a_killed_write_are_removed_by_the_next_merge(list_copy):
    stale = list_copy / "papers/safety/.jailbreak.md.k1ll3d_x.tmp"
    stale.write_text("half a file")
    mine = list_copy / "papers/safety/notes.tmp"  # not ours: kept
    mine.write_text("a maintainer's file")
    merge_papers(list_copy, [_item("2602.99991", "safety/jailbreak")])
    assert not stale.exists() and mine.exists()
