"""TODO docstring (model.artifacts, from model.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from trust_tagger.files import atomic_write_json

MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"
TAGGER_JSON = "tagger.json"


class ModelIntegrityError(RuntimeError):
    """A model folder whose files do not match its manifest (corrupted, truncated or edited)."""


# -------------------------------------------------------------------- manifest
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(model_dir: Path) -> dict:
    """sha256 and size of every file in the folder (manifest.json itself excluded)."""
    model_dir = Path(model_dir)
    files = {}
    for p in sorted(model_dir.rglob("*")):
        if p.is_file() and p.name != MANIFEST and not p.name.startswith("."):
            files[p.relative_to(model_dir).as_posix()] = {"sha256": _sha256(p), "bytes": p.stat().st_size}
    manifest = {"files": files}
    atomic_write_json(model_dir / MANIFEST, manifest)
    return manifest


def verify_manifest(model_dir: Path) -> None:
    """Raise ModelIntegrityError naming the first file that is missing or differs from the manifest."""
    model_dir = Path(model_dir)
    mpath = model_dir / MANIFEST
    if not mpath.exists():
        raise ModelIntegrityError(f"{mpath}: no manifest; not a trust-tagger model folder (or an incomplete one)")
    try:
        files = json.loads(mpath.read_text())["files"]
    except (ValueError, KeyError) as exc:
        raise ModelIntegrityError(f"{mpath}: unreadable manifest ({exc})") from exc
    for rel, entry in files.items():
        p = model_dir / rel
        if not p.exists():
            raise ModelIntegrityError(f"{p}: listed in the manifest but missing")
        digest = _sha256(p)
        if digest != entry["sha256"]:
            raise ModelIntegrityError(f"{p}: sha256 {digest[:12]}… does not match the manifest "
                                      f"({entry['sha256'][:12]}…); the file is corrupted or was changed")
