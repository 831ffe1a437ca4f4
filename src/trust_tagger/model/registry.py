"""Which trained models exist and which one the nightly flow uses.

``models/registry.json`` lists every version (id, parent, created and promoted times, training-data
hash, label counts, test metrics, thresholds, path, current flag) and the promotion history, so a
bad retrain is undone with ``rollback()`` (back to the previously promoted version) instead of by
hand. Every change is a locked read-modify-write followed by an atomic replace of the file: a crash
never leaves a half-written registry, and two processes never lose each other's update.

A version's ``path`` is relative to the registry's own folder (absolute when the folder lies
outside it), so a registry copied or moved with its models — ``TRUST_TAGGER_MODEL_DIR`` pointing at
the copy — loads the copy's files and verifies them. Registries written before this
(``format`` 1) kept paths relative to the project root, so the copy's registry loaded
``<project>/models/v1`` and a corrupt copy went unnoticed; their paths are read the new way and
rewritten on the next change.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import re
import shutil
from pathlib import Path

from trust_tagger.errors import UserError
from trust_tagger.files import atomic_write_json

REGISTRY_FILE = "registry.json"
FORMAT = 2  # 2: version paths relative to the registry's folder; 1 (no "format"): to the project root
_LEGACY_MODELS_DIR = Path("models")  # Settings.model_dir's default when format-1 registries were written
_VERSION_RE = re.compile(r"^v(\d+)$")


class RegistryError(UserError, RuntimeError):
    pass


def _settings(settings):
    if settings is None:
        from trust_tagger.config import load_settings

        settings = load_settings()
    return settings


def models_root(settings=None) -> Path:
    s = _settings(settings)
    return s.path(s.model_dir)


def now_iso() -> str:
    """UTC, to the second: the one timestamp form of registry entries and their annotations."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _read(root: Path) -> dict:
    path = root / REGISTRY_FILE
    if not path.exists():
        return {"format": FORMAT, "versions": [], "promotions": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise RegistryError(f"{path}: unreadable registry ({exc})") from exc
    data.setdefault("versions", [])
    data.setdefault("promotions", [])
    return data


@contextlib.contextmanager
def _locked(root: Path):
    """Exclusive lock around a read-modify-write of the registry; yields the data, writes it back."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".registry.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = _read(root)
            _upgrade(data, root)  # before the change: new entries are written in the new form
            yield data
            atomic_write_json(root / REGISTRY_FILE, data)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _num(version: str) -> int:
    m = _VERSION_RE.match(version)
    return int(m.group(1)) if m else -1


def next_version(settings=None) -> str:
    """vN+1 over both the registry and the folders present (a folder never gets reused)."""
    root = models_root(settings)
    nums = [_num(v["id"]) for v in _read(root)["versions"]]
    if root.exists():
        nums += [_num(p.name) for p in root.iterdir() if p.is_dir()]
    return f"v{max([0] + nums) + 1}"


def _rel_path(root: Path, model_dir: Path) -> str:
    """A version folder as the registry stores it: relative to the registry's folder when inside it."""
    try:
        return Path(model_dir).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(Path(model_dir).resolve())


def _folder(entry: dict, root: Path, data: dict, settings=None) -> Path:
    """Where a version's files are: resolved against the registry that lists it, never elsewhere."""
    path = Path(entry["path"])
    if path.is_absolute():
        return path
    if data.get("format", 1) >= FORMAT:
        return root / path
    # format 1: relative to the project root. Folders under ``models/`` were written next to their
    # registry, so they follow it; anything else was registered from outside and stays put.
    if path.parts[:len(_LEGACY_MODELS_DIR.parts)] == _LEGACY_MODELS_DIR.parts:
        return root / path.relative_to(_LEGACY_MODELS_DIR)
    return _settings(settings).root / path


def _upgrade(data: dict, root: Path) -> None:
    """Rewrite a format-1 registry's paths in the registry-relative form (on every locked write)."""
    if data.get("format", 1) >= FORMAT:
        return
    for entry in data["versions"]:
        entry["path"] = _rel_path(root, _folder(entry, root, data))
    data["format"] = FORMAT


def _get(data: dict, version: str) -> dict:
    for v in data["versions"]:
        if v["id"] == version:
            return v
    known = ", ".join(v["id"] for v in data["versions"]) or "none"
    raise RegistryError(f"no model version {version!r} (known: {known})")


def register(model_dir: Path | str, settings=None, *, version: str | None = None, parent: str | None = None,
             make_current: bool | None = None) -> dict:
    """Add a trained model folder as a version. Current when asked, or when there is no current yet.

    The folder's manifest is verified first: a broken model is never registered.
    """
    from trust_tagger.model.artifacts import TAGGER_JSON, verify_manifest

    model_dir = Path(model_dir)
    verify_manifest(model_dir)
    meta = json.loads((model_dir / TAGGER_JSON).read_text())
    metrics_path = model_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    thresholds = json.loads((model_dir / "thresholds.json").read_text())
    root = models_root(settings)
    version = version or (model_dir.name if _VERSION_RE.match(model_dir.name) else None) or next_version(settings)
    with _locked(root) as data:
        if any(v["id"] == version for v in data["versions"]):
            raise RegistryError(f"version {version} is already registered")
        cur = next((v["id"] for v in data["versions"] if v.get("current")), None)
        entry = {
            "id": version,
            "parent": parent if parent is not None else cur,
            "created": meta.get("created") or now_iso(),
            "promoted": None,
            "training_data_hash": meta.get("training_data_hash"),
            "label_counts": meta.get("label_counts"),
            "metrics": metrics.get("test", metrics),
            "thresholds": {"accept": thresholds.get("accept"), "reject": thresholds.get("reject")},
            "path": _rel_path(root, model_dir),
            "current": False,
        }
        data["versions"].append(entry)
        if make_current or (make_current is None and cur is None):
            _set_current(data, version)
    return entry


def _set_current(data: dict, version: str) -> None:
    target = _get(data, version)
    now = now_iso()
    for v in data["versions"]:
        v["current"] = v is target
    target["promoted"] = now
    data["promotions"].append({"version": version, "time": now})


def current(settings=None) -> str | None:
    """The current version id, or None when no model was registered/promoted yet."""
    data = _read(models_root(settings))
    return next((v["id"] for v in data["versions"] if v.get("current")), None)


def model_path(version: str, settings=None) -> Path:
    s = _settings(settings)
    root = models_root(s)
    data = _read(root)
    return _folder(_get(data, version), root, data, s)


def load_current(settings=None):
    """The current model, loaded and integrity-checked; RegistryError when there is none."""
    from trust_tagger.model.tagger import TrustTagger

    s = _settings(settings)
    version = current(s)
    if version is None:
        raise RegistryError(f"no current model in {models_root(s) / REGISTRY_FILE}; run `trust-tagger train` first")
    tagger = TrustTagger.load(model_path(version, s))
    tagger.version = version
    return tagger


def list_versions(settings=None) -> list[dict]:
    return sorted(_read(models_root(settings))["versions"], key=lambda v: _num(v["id"]))


def show(version: str, settings=None) -> dict:
    return _get(_read(models_root(settings)), version)


def promote(version: str, settings=None) -> dict:
    """Make a registered version current (its files are verified first)."""
    from trust_tagger.model.artifacts import verify_manifest

    s = _settings(settings)
    verify_manifest(model_path(version, s))
    with _locked(models_root(s)) as data:
        _set_current(data, version)
        return dict(_get(data, version))


def rollback(settings=None) -> dict:
    """Re-promote the version that was current before the present one."""
    s = _settings(settings)
    data = _read(models_root(s))
    cur = current(s)
    known = {v["id"] for v in data["versions"]}
    for event in reversed(data["promotions"]):
        if event["version"] != cur and event["version"] in known:
            return promote(event["version"], s)
    raise RegistryError("nothing to roll back to: no earlier promoted version")


def annotate(version: str, settings=None, **fields) -> dict:
    """Add or replace fields of a version's entry (e.g. the retrain gate's decision), under the lock."""
    reserved = {"id", "current", "path", "promoted"}
    bad = reserved & set(fields)
    if bad:
        raise RegistryError(f"cannot annotate {sorted(bad)}: use promote/rollback/register")
    with _locked(models_root(settings)) as data:
        entry = _get(data, version)
        entry.update(fields)
        return dict(entry)


def prune(keep: int, settings=None) -> list[str]:
    """Delete all but the ``keep`` newest versions (the current one is always kept); returns removed ids."""
    if keep < 1:
        raise RegistryError("keep must be at least 1")
    s = _settings(settings)
    root = models_root(s)
    removed = []
    with _locked(root) as data:
        ordered = sorted(data["versions"], key=lambda v: _num(v["id"]), reverse=True)
        survivors = {v["id"] for v in ordered[:keep]} | {v["id"] for v in ordered if v.get("current")}
        for v in ordered:
            if v["id"] in survivors:
                continue
            path = _folder(v, root, data, s)
            if path.exists() and path.resolve().is_relative_to(root.resolve()):
                shutil.rmtree(path)
            removed.append(v["id"])
        data["versions"] = [v for v in data["versions"] if v["id"] in survivors]
    return removed
