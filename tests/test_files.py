"""files.py: atomic writes through symlinks, stale temp files, the one lock of a directory's writers."""

import os

from trust_tagger.files import atomic_write_bytes, directory_lock, lock_path, remove_stale_temps


def test_atomic_write_goes_through_a_symlink_and_keeps_it(tmp_path):
    target = tmp_path / "real" / "file.md"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "link.md"
    link.symlink_to(target)
    atomic_write_bytes(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_only_our_temp_files_outside_hidden_folders_are_stale(tmp_path):
    ours = tmp_path / "papers" / ".a.md.abc123_z.tmp"
    ours.parent.mkdir()
    ours.write_text("x")
    kept = [tmp_path / "papers" / "draft.tmp", tmp_path / ".git" / ".index.abcdefgh.tmp", tmp_path / ".a.md.tmp"]
    for path in kept:
        path.parent.mkdir(exist_ok=True)
        path.write_text("x")
    assert remove_stale_temps(tmp_path) == [ours]
    assert all(p.exists() for p in kept)


def test_the_lock_is_beside_the_folder_reentrant_and_the_same_for_every_spelling(tmp_path, monkeypatch):
    folder = tmp_path / "list"
    folder.mkdir()
    (tmp_path / "alias").symlink_to(folder)
    monkeypatch.chdir(tmp_path)
    assert lock_path("list") == lock_path(tmp_path / "alias") == tmp_path / ".list.lock"
    with directory_lock(folder, timeout=0.1):
        with directory_lock(tmp_path / "alias", timeout=0.1):  # the same thread may take it again
            pass
    assert list(folder.iterdir()) == []
