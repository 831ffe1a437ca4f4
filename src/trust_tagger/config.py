"""All settings in one place.

Precedence, lowest first: the defaults below, ``trust-tagger.toml`` at the project root
(or the file named by ``TRUST_TAGGER_CONFIG``), then ``TRUST_TAGGER_<FIELD>`` environment
variables, then command-line options (the CLI passes them to :func:`load_settings`).
Paths are resolved against the project root so the nightly job behaves the same from any cwd.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trust_tagger.errors import UserError


class ConfigError(UserError, ValueError):
    """A setting that cannot be used (unknown name, bad value), named with where it came from (the file
    or the variable); the CLI prints it as one line."""


def project_root() -> Path:
    """The checkout the package runs from (editable install), else the current directory."""
    env = os.environ.get("TRUST_TAGGER_HOME")
    if env:
        return Path(env).resolve()
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "pyproject.toml").exists():
        return candidate
    return Path.cwd()


DEFAULT_ARXIV_QUERY = (
    "(cat:cs.SD OR cat:eess.AS) OR "
    "((cat:cs.CL OR cat:cs.CR OR cat:cs.LG OR cat:cs.AI) AND "
    '(abs:audio OR abs:speech OR abs:spoken OR abs:voice OR abs:"speaker"))'
)


@dataclass
class Settings:
    list_dir: Path = Path("data/awesome-list")
    db_url: str = "sqlite:///data/trust_tagger.db"
    model_dir: Path = Path("models")
    snapshot_path: Path = Path("data/raw/arxiv-audio-papers.jsonl.gz")
    labeled_dir: Path = Path("data/labeled")
    reports_dir: Path = Path("reports")
    arxiv_query: str = DEFAULT_ARXIV_QUERY
    arxiv_base_url: str = "https://export.arxiv.org/api/query"
    arxiv_page_size: int = 200
    arxiv_delay_seconds: float = 3.0
    arxiv_timeout_seconds: float = 30.0  # the whole request (connect to last byte), not one read
    arxiv_max_retries: int = 5
    arxiv_backoff_seconds: float = 5.0  # first retry wait without Retry-After; doubles per attempt
    arxiv_max_wait_seconds: float = 600.0  # all retry waits of one fetch; a longer Retry-After fails the run
    window_overlap_days: int = 3  # arXiv lists papers a day or two after submission
    base_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    # Which papers are merged on their own: "core" (relevance 2, a trust property of an audio LLM or
    # foundation model: what the maintainers list) or "relevant" (every relevance >= 1 paper).
    merge_policy: str = "core"
    # The temporal protocol (retrain.dataset.temporal_split): dense labels from the first date choose
    # epochs, calibration and thresholds; dense labels from the second are only reported.
    temporal_validation_from: str = "2026-03-01"
    temporal_holdout_from: str = "2026-04-01"
    # After the holdout is scored, fit the recipe again on train + holdout and ship that model
    # (``retrain.train.train_version``): the newest labels are the most like next month's feed.
    refit: bool = False
    # Format of new entries written into an empty or new list file ("dated" or "year_sections").
    default_entry_format: str = "dated"
    # How long a merge waits for another writer of the same list (nightly, `merge`) before it gives up.
    list_lock_timeout_seconds: float = 300.0
    review_token: str = ""  # empty: the review web page is read-only
    # The review page is reached through HTTPS (a TLS proxy in front of serve-review): its cookies get
    # ``Secure`` and a write must come from the https:// origin.
    review_https: bool = False
    state_dir: Path = Path("data/state")  # small private state: the review page's session secret, logouts
    retrain_min_decisions: int = 50
    # Where a run reads papers when no --source is given: "snapshot" or "arxiv". Empty: a one-off
    # `nightly` replays the bundled snapshot (offline), a scheduled or deployed run reads arXiv.
    source: str = ""
    # How accepted papers reach the list: "direct" writes into the list checkout; "pr" commits the
    # night's lines on a new branch, pushes it and opens a pull request (token: GITHUB_TOKEN).
    merge_mode: str = "direct"
    github_repo: str = ""  # "owner/name"; empty: read from the list checkout's `github_remote` URL
    github_remote: str = "origin"
    github_api_url: str = "https://api.github.com"  # GitHub Enterprise: https://HOST/api/v3
    github_base: str = ""  # branch the pull request targets; empty: the checkout's current branch
    notify_urls: list[str] = field(default_factory=list)  # apprise URLs (mailto://, slack://, json://, ...)
    review_url: str = ""  # the review page as maintainers reach it, e.g. https://review.example.org
    backfill_chunk_days: int = 7  # a week of arXiv audio papers is ~150 records: one classify task
    root: Path = field(default_factory=project_root)

    def path(self, p: Path | str) -> Path:
        p = Path(p)
        return p if p.is_absolute() else self.root / p

    def run_source(self, scheduled: bool = False) -> str:
        """The source a run reads when none was given (see ``source``)."""
        source = self.source or ("arxiv" if scheduled else "snapshot")
        if source not in SOURCES:
            raise ConfigError(f"unknown source {source!r}: use one of {', '.join(SOURCES)}")
        return source

    @property
    def resolved_db_url(self) -> str:
        """SQLite URLs with relative paths are anchored at the project root; other URLs pass through."""
        prefix = "sqlite:///"
        if self.db_url.startswith(prefix) and not self.db_url.startswith(prefix + "/"):
            rel = self.db_url[len(prefix):]
            if rel and rel != ":memory:":
                return prefix + str(self.path(rel))
        return self.db_url


SOURCES = ("snapshot", "arxiv")
MERGE_MODES = ("direct", "pr")
_PATH_FIELDS = {f.name for f in dataclasses.fields(Settings) if f.type in ("Path", Path)}


def _coerce(name: str, value: Any, where: str = "") -> Any:
    ftype = {f.name: f.type for f in dataclasses.fields(Settings)}[name]
    if ftype in ("bool", bool) and not isinstance(value, bool):
        text = str(value).strip().lower()
        if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ConfigError(f"{where or name} = {value!r} is not true or false")
        return text in ("1", "true", "yes", "on")
    try:
        if name in _PATH_FIELDS:
            return Path(value)
        if ftype in ("int", int):
            return int(value)
        if ftype in ("float", float):
            return float(value)
    except (TypeError, ValueError) as exc:
        kind = "a number" if ftype in ("float", float) else "a whole number" if ftype in ("int", int) else "a path"
        raise ConfigError(f"{where or name} = {value!r} is not {kind}") from exc
    if ftype in ("list[str]", list[str]):
        # An env var holds several URLs separated by spaces or commas (apprise's own convention).
        return value.replace(",", " ").split() if isinstance(value, str) else [str(v) for v in value]
    if name == "merge_mode" and value not in MERGE_MODES:
        raise ConfigError(f"{where or name}: merge_mode must be one of {', '.join(MERGE_MODES)}, got {value!r}")
    return value


def load_settings(**overrides: Any) -> Settings:
    """Build settings from defaults, config file, environment and explicit overrides (None = not given)."""
    root = project_root()
    values: dict[str, Any] = {}
    cfg_file = Path(os.environ.get("TRUST_TAGGER_CONFIG", root / "trust-tagger.toml"))
    names = {f.name for f in dataclasses.fields(Settings)} - {"root"}
    if cfg_file.exists():
        try:
            with cfg_file.open("rb") as fh:
                data = tomllib.load(fh)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg_file}: not valid TOML ({exc})") from exc
        for key, value in data.items():
            if key not in names:
                raise ConfigError(f"{cfg_file}: unknown setting {key!r}; known: {sorted(names)}")
            values[key] = _coerce(key, value, f"{cfg_file}: {key}")
    for name in names:
        env = os.environ.get(f"TRUST_TAGGER_{name.upper()}")
        if env is not None:
            values[name] = _coerce(name, env, f"TRUST_TAGGER_{name.upper()}")
    for key, value in overrides.items():
        if value is not None:
            values[key] = _coerce(key, value)
    settings = Settings(root=root, **values)
    if settings.merge_policy not in ("core", "relevant"):
        raise ConfigError(f"merge_policy must be 'core' or 'relevant', got {settings.merge_policy!r}")
    return settings
