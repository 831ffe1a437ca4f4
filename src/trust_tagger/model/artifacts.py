"""A trained tagger on disk: one folder, every file listed with its sha256 in ``manifest.json``.

The nightly loads whatever the registry calls current, so a truncated copy or an edited pickle must
be refused before it is used (the ensemble members are pickles: the manifest check is what makes
loading them safe). Members pickled before the package moved into subpackages (model v1 of the
first landing) still load: their old module paths are mapped to the new ones.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from dataclasses import asdict
from pathlib import Path

from trust_tagger.errors import UserError
from trust_tagger.files import atomic_write_bytes, atomic_write_json

MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"
TAGGER_JSON = "tagger.json"


class ModelIntegrityError(UserError, RuntimeError):
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


# -------------------------------------------------------------------- save / load
# Where classes pickled by earlier releases live now: (old module, name) -> new module.
_MOVED = {
    ("trust_tagger.baselines", "TfidfLR"): "trust_tagger.model.baselines",
    ("trust_tagger.baselines", "FrozenEmbeddingLR"): "trust_tagger.model.baselines",
    ("trust_tagger.baselines", "KeywordRules"): "trust_tagger.model.baselines",
    ("trust_tagger.baselines", "FeatureLR"): "trust_tagger.model.heads",
    ("trust_tagger.baselines", "_Constant"): "trust_tagger.model.heads",
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        return super().find_class(_MOVED.get((module, name), module), name)


def load_member(data: bytes):
    return _Unpickler(io.BytesIO(data)).load()


def save_tagger(tagger, out_dir: Path | str, extra: dict | None = None) -> Path:
    """Write weights (safetensors), tokenizer, label map, calibration, thresholds, members, manifest."""
    from safetensors.torch import save_file

    from trust_tagger.model.network import SL_CAT, SL_CLS, SL_COND, SL_LARGE, SL_REL, SL_SUB
    from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in tagger.net.state_dict().items()}
    save_file(state, str(out / WEIGHTS))
    tagger.net.encoder.config.save_pretrained(str(out / "encoder"))
    tagger.tokenizer.save_pretrained(str(out / "tokenizer"))
    atomic_write_json(out / "label_map.json", {"categories": list(CATEGORIES), "subcategories": list(SUBCATEGORIES),
                                               "relevance_classes": [0, 1, 2],
                                               "head_layout": {"relevance": [SL_REL.start, SL_REL.stop],
                                                               "relevance_class": [SL_CLS.start, SL_CLS.stop],
                                                               "categories": [SL_CAT.start, SL_CAT.stop],
                                                               "subcategories": [SL_SUB.start, SL_SUB.stop],
                                                               "core_given_relevant": [SL_COND.start, SL_COND.stop],
                                                               "large_audio_model": [SL_LARGE.start, SL_LARGE.stop]}})
    atomic_write_json(out / "calibration.json", tagger.calibration.to_dict())
    atomic_write_json(out / "thresholds.json", tagger.thresholds.to_dict())
    for name, m in tagger.members.items():
        atomic_write_bytes(out / f"member_{name}.pkl", pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL))
    meta = {"config": asdict(tagger.config), "blend": tagger.blend, "history": tagger.history, "info": tagger.info,
            "members": sorted(tagger.members)}
    meta.update(extra or {})
    atomic_write_json(out / TAGGER_JSON, meta)
    write_manifest(out)
    return out


def load_tagger(cls, model_dir: Path | str, device: str | None = None):
    """Load a saved model of class ``cls`` after checking every file against manifest.json."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from trust_tagger.model.calibration import Calibration
    from trust_tagger.model.config import TrainConfig
    from trust_tagger.model.encoder import pick_device, set_offline_defaults
    from trust_tagger.model.network import build_net
    from trust_tagger.routing import Thresholds

    set_offline_defaults()
    d = Path(model_dir)
    verify_manifest(d)
    meta = json.loads((d / TAGGER_JSON).read_text())
    self = cls(TrainConfig.from_dict(meta["config"]))
    self.blend = meta["blend"]
    self.history = meta.get("history", [])
    self.info = meta.get("info", {})
    self.meta = meta
    self.device = pick_device(device)
    self.tokenizer = AutoTokenizer.from_pretrained(str(d / "tokenizer"))
    enc_cfg = AutoConfig.from_pretrained(str(d / "encoder"))
    state = load_file(str(d / WEIGHTS))
    self.net = build_net(AutoModel.from_config(enc_cfg), self.config.dropout, n_out=state["head.weight"].shape[0])
    self.net.load_state_dict(state)
    self.net.to(self.device).eval()
    self.calibration = Calibration.from_dict(json.loads((d / "calibration.json").read_text()))
    self.thresholds = Thresholds.from_dict(json.loads((d / "thresholds.json").read_text()))
    # Members are pickles written by save_tagger(); the manifest check above refuses any altered file.
    self.members = {name: load_member((d / f"member_{name}.pkl").read_bytes()) for name in meta.get("members", [])}
    return self
