"""The user's configuration file: which Spotify sources play which role, and where the lake is.

One TOML file (see ``weekly-discovery.example.toml``), found through the environment variable
``WEEKLY_DISCOVERY_CONFIG`` or the Airflow Variable ``weekly_discovery_config``, read when a run
starts (never when a DAG file is parsed). Every key is checked: a typo or a malformed id stops the
run with a message naming the key and the expected form.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from weekly_discovery.core.spotify_ids import InvalidSpotifyId, parse_spotify_id
from weekly_discovery.core.vocabulary import FEATURE_COLUMNS, POST_FEATURES, ROLES, SAVED_TRACKS
from weekly_discovery.lake import layout as lake_layout
from weekly_discovery.lake import storage

CONFIG_ENV = "WEEKLY_DISCOVERY_CONFIG"
CONFIG_VARIABLE = "weekly_discovery_config"
LAKE_ENV = "WEEKLY_DISCOVERY_LAKE"

_TOP_KEYS = {"sources", "lake", "spotify", "enrichment", "report", "model"}
_REPORT_KEYS = {"bin_width", "top_artist_min_tracks", "strong_correlation"}
_MODEL_KEYS = {"features", "top_n", "max_per_artist", "playlist_name", "threshold", "seed", "folds", "grid",
               "artist_profile"}
MODEL_GRIDS = ("default", "quick")
_ENRICHMENT_KEYS = {"providers", "reccobeats_url", "missing_retry_days", "min_coverage", "file"}
_FILE_KEYS = {"path", "format", "columns"}
PROVIDERS = ("spotify", "reccobeats", "file")
DEFAULT_RECCOBEATS_URL = "https://api.reccobeats.com"
_LAKE_KEYS = {"root"}
_SPOTIFY_KEYS = {"connection_id"}


class ConfigError(ValueError):
    """The configuration file is missing or invalid; the message says what to change."""


@dataclass(frozen=True)
class Source:
    """One place tracks come from: the user's Liked Songs or one playlist, in one role."""

    role: str
    kind: str  # "saved_tracks" or "playlist"
    spotify_id: str | None = None

    @property
    def key(self) -> str:
        """The path-safe key the lake uses for this source."""
        return lake_layout.source_key(self.kind, self.spotify_id)

    def describe(self) -> str:
        return "Liked Songs" if self.kind == SAVED_TRACKS else f"playlist {self.spotify_id}"


@dataclass(frozen=True)
class FeatureFile:
    """A downloaded snapshot of audio features keyed by Spotify track id (CSV or Parquet)."""

    path: str
    format: str  # "csv" or "parquet"
    columns: Mapping[str, str]  # our column name -> the file's column name ("id" -> track id)


@dataclass(frozen=True)
class Enrichment:
    """Where audio features come from, in order, and how strict coverage must be."""

    providers: tuple[str, ...] = ("spotify", "reccobeats")
    reccobeats_url: str = DEFAULT_RECCOBEATS_URL
    missing_retry_days: int = 30
    min_coverage: float = 0.0
    file: FeatureFile | None = None


@dataclass(frozen=True)
class Report:
    """How the weekly library report bins, filters and flags."""

    bin_width: float = 0.1
    top_artist_min_tracks: int = 3  # list artists with MORE than this many liked tracks
    strong_correlation: float = 0.5


@dataclass(frozen=True)
class Model:
    """What the weekly model learns from and what it recommends."""

    features: tuple[str, ...] = POST_FEATURES
    top_n: int = 30
    max_per_artist: int = 2
    playlist_name: str = "Weekly Discovery"
    threshold: float = 0.5  # a candidate is "recommended" at or above this probability
    seed: int = 42
    folds: int = 5
    grid: str = "default"  # "quick": one small configuration per model family (small libraries, demos)
    artist_profile: bool = True  # challengers also learn each feature's average over the track's artist


@dataclass(frozen=True)
class Config:
    path: Path
    sources: tuple[Source, ...]
    lake_root: str
    spotify_connection_id: str = "spotify_default"
    enrichment: Enrichment = field(default_factory=Enrichment)
    report: Report = field(default_factory=Report)
    model: Model = field(default_factory=Model)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def sources_in(self, role: str) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.role == role)

    @property
    def lake(self) -> lake_layout.Lake:
        return lake_layout.Lake(self.lake_root)


def resolve_config_path(
    env: Mapping[str, str] | None = None,
    variable_getter: Callable[[str], str | None] | None = None,
) -> Path:
    """Where the config file is: ``$WEEKLY_DISCOVERY_CONFIG``, else the Airflow Variable."""
    env = os.environ if env is None else env
    value = env.get(CONFIG_ENV)
    if not value and variable_getter is not None:
        value = variable_getter(CONFIG_VARIABLE)
    if not value:
        raise ConfigError(
            f"No configuration file given. Set the environment variable {CONFIG_ENV} or the Airflow "
            f"Variable {CONFIG_VARIABLE} to the path of your TOML file "
            "(start from weekly-discovery.example.toml)."
        )
    return Path(value).expanduser()


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; raise :class:`ConfigError` naming the bad key."""
    env = os.environ if env is None else env
    path = Path(path).expanduser().resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"Configuration file {path} does not exist. Create it from weekly-discovery.example.toml "
            f"or point {CONFIG_ENV} at your file."
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: not valid TOML ({exc})") from None
    return _validate(path, data, env)


def _validate(path: Path, data: dict[str, Any], env: Mapping[str, str]) -> Config:
    where = f"config {path}"
    _no_unknown_keys(where, "top level", data, _TOP_KEYS)

    sources_table = data.get("sources")
    if not isinstance(sources_table, dict):
        raise ConfigError(f"{where}: missing table [sources] with keys {', '.join(ROLES)}")
    _no_unknown_keys(where, "[sources]", sources_table, set(ROLES))

    sources: list[Source] = []
    seen: dict[str, str] = {}
    for role in ROLES:
        refs = sources_table.get(role, [])
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise ConfigError(f"{where}: sources.{role} must be a list of strings, got {refs!r}")
        for index, ref in enumerate(refs):
            source = _parse_source(where, role, index, ref)
            previous = seen.get(source.key)
            if previous is not None:
                raise ConfigError(
                    f"{where}: sources.{role}[{index}] ({ref!r}) is already listed under "
                    f"sources.{previous}; a source can play one role only"
                )
            seen[source.key] = role
            sources.append(source)
    if not sources:
        raise ConfigError(f"{where}: [sources] lists no source; add at least liked = [\"saved_tracks\"]")

    lake_table = data.get("lake", {})
    if not isinstance(lake_table, dict):
        raise ConfigError(f"{where}: [lake] must be a table")
    _no_unknown_keys(where, "[lake]", lake_table, _LAKE_KEYS)
    lake_root = env.get(LAKE_ENV) or lake_table.get("root") or "lake"
    if not isinstance(lake_root, str):
        raise ConfigError(f"{where}: lake.root must be a folder path (string)")
    if "://" not in lake_root and not Path(lake_root).expanduser().is_absolute():
        lake_root = str(path.parent / lake_root)  # relative to the config file, not the cwd
    if storage.is_object_uri(lake_root):
        try:
            lake_root = storage.normalize_uri(lake_root)  # s3:// -> s3a://, the form Spark expects
        except storage.StorageError as exc:
            raise ConfigError(f"{where}: lake.root: {exc}") from None

    spotify_table = data.get("spotify", {})
    if not isinstance(spotify_table, dict):
        raise ConfigError(f"{where}: [spotify] must be a table")
    _no_unknown_keys(where, "[spotify]", spotify_table, _SPOTIFY_KEYS)
    conn_id = spotify_table.get("connection_id", "spotify_default")
    if not isinstance(conn_id, str) or not conn_id:
        raise ConfigError(f"{where}: spotify.connection_id must be an Airflow connection id (string)")

    return Config(
        path=path,
        sources=tuple(sources),
        lake_root=lake_root,
        spotify_connection_id=conn_id,
        enrichment=_parse_enrichment(where, path, data.get("enrichment", {})),
        report=_parse_report(where, data.get("report", {})),
        model=_parse_model(where, data.get("model", {})),
        raw=data,
    )


def _parse_enrichment(where: str, path: Path, table: Any) -> Enrichment:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [enrichment] must be a table")
    _no_unknown_keys(where, "[enrichment]", table, _ENRICHMENT_KEYS)
    defaults = Enrichment()
    providers = table.get("providers", list(defaults.providers))
    if (not isinstance(providers, list) or not providers or not all(isinstance(p, str) for p in providers)
            or len(set(providers)) != len(providers) or not all(p in PROVIDERS for p in providers)):
        raise ConfigError(
            f"{where}: enrichment.providers must be a non-empty list of distinct names from "
            f"{', '.join(PROVIDERS)} (in the order to ask them), got {providers!r}"
        )
    url = table.get("reccobeats_url", defaults.reccobeats_url)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: enrichment.reccobeats_url must be an http(s) URL, got {url!r}")
    days = table.get("missing_retry_days", defaults.missing_retry_days)
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise ConfigError(f"{where}: enrichment.missing_retry_days must be a whole number of days >= 0")
    coverage = table.get("min_coverage", defaults.min_coverage)
    if not isinstance(coverage, (int, float)) or isinstance(coverage, bool) or not 0 <= coverage <= 1:
        raise ConfigError(f"{where}: enrichment.min_coverage must be a share between 0 and 1 (e.g. 0.9)")
    feature_file = _parse_feature_file(where, path, table.get("file"), "file" in providers)
    return Enrichment(tuple(providers), url.rstrip("/"), days, float(coverage), feature_file)


def _parse_feature_file(where: str, path: Path, table: Any, required: bool) -> FeatureFile | None:
    if table is None:
        if required:
            raise ConfigError(
                f"{where}: enrichment.providers lists \"file\" but there is no [enrichment.file] table "
                "with path = \"...\" (a CSV or Parquet snapshot keyed by Spotify track id)"
            )
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [enrichment.file] must be a table")
    _no_unknown_keys(where, "[enrichment.file]", table, _FILE_KEYS)
    file_path = table.get("path")
    if not isinstance(file_path, str) or not file_path:
        raise ConfigError(f"{where}: enrichment.file.path must be the path of your CSV or Parquet file")
    if "://" not in file_path and not Path(file_path).expanduser().is_absolute():
        file_path = str(path.parent / file_path)
    fmt = table.get("format") or ("parquet" if file_path.endswith(".parquet") else "csv")
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"{where}: enrichment.file.format must be \"csv\" or \"parquet\", got {fmt!r}")
    columns = table.get("columns", {})
    allowed = {"id", *FEATURE_COLUMNS}
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise ConfigError(f"{where}: enrichment.file.columns must map our names to the file's column names")
    _no_unknown_keys(where, "[enrichment.file.columns]", columns, allowed)
    return FeatureFile(file_path, fmt, {**{c: c for c in sorted(allowed)}, **columns})


def _parse_report(where: str, table: Any) -> Report:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [report] must be a table")
    _no_unknown_keys(where, "[report]", table, _REPORT_KEYS)
    d = Report()
    bin_width = _number(where, "report.bin_width", table.get("bin_width", d.bin_width), 0.01, 0.5)
    if abs(round(1 / bin_width) * bin_width - 1) > 1e-9:
        raise ConfigError(f"{where}: report.bin_width must divide 1 evenly (0.05, 0.1, 0.2, 0.25...), got {bin_width}")
    return Report(
        bin_width=bin_width,
        top_artist_min_tracks=int(_number(where, "report.top_artist_min_tracks",
                                          table.get("top_artist_min_tracks", d.top_artist_min_tracks), 0, 10_000,
                                          integer=True)),
        strong_correlation=_number(where, "report.strong_correlation",
                                   table.get("strong_correlation", d.strong_correlation), 0.0, 1.0),
    )


def _parse_model(where: str, table: Any) -> Model:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [model] must be a table")
    _no_unknown_keys(where, "[model]", table, _MODEL_KEYS)
    d = Model()
    features = table.get("features", list(d.features))
    usable = [c for c in FEATURE_COLUMNS]
    if (not isinstance(features, list) or not features or len(set(features)) != len(features)
            or not all(f in usable for f in features)):
        raise ConfigError(f"{where}: model.features must be a non-empty list of distinct names from "
                          f"{', '.join(usable)}, got {features!r}")
    grid = table.get("grid", d.grid)
    if grid not in MODEL_GRIDS:
        raise ConfigError(f"{where}: model.grid must be one of {', '.join(MODEL_GRIDS)}, got {grid!r}")
    artist_profile = table.get("artist_profile", d.artist_profile)
    if not isinstance(artist_profile, bool):
        raise ConfigError(f"{where}: model.artist_profile must be true or false, got {artist_profile!r}")
    name = table.get("playlist_name", d.playlist_name)
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ConfigError(f"{where}: model.playlist_name must be a non-empty name of at most 100 characters")
    return Model(
        features=tuple(features),
        top_n=int(_number(where, "model.top_n", table.get("top_n", d.top_n), 1, 10_000, integer=True)),
        max_per_artist=int(_number(where, "model.max_per_artist", table.get("max_per_artist", d.max_per_artist),
                                   1, 10_000, integer=True)),
        playlist_name=name.strip(),
        threshold=_number(where, "model.threshold", table.get("threshold", d.threshold), 0.0, 1.0),
        seed=int(_number(where, "model.seed", table.get("seed", d.seed), 0, 2**31 - 1, integer=True)),
        folds=int(_number(where, "model.folds", table.get("folds", d.folds), 2, 20, integer=True)),
        grid=grid,
        artist_profile=artist_profile,
    )


def _number(where: str, key: str, value: Any, low: float, high: float, integer: bool = False) -> float:
    kinds = (int,) if integer else (int, float)
    if not isinstance(value, kinds) or isinstance(value, bool) or not low <= value <= high:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{where}: {key} must be {kind} between {low} and {high}, got {value!r}")
    return float(value)


def _parse_source(where: str, role: str, index: int, ref: str) -> Source:
    if ref.strip() == SAVED_TRACKS:
        if role != "liked":
            raise ConfigError(
                f"{where}: sources.{role}[{index}]: \"saved_tracks\" (your Liked Songs) can only be "
                "used under sources.liked"
            )
        return Source(role=role, kind=SAVED_TRACKS)
    try:
        return Source(role=role, kind="playlist", spotify_id=parse_spotify_id(ref, "playlist"))
    except InvalidSpotifyId as exc:
        extra = ' or "saved_tracks"' if role == "liked" else ""
        raise ConfigError(f"{where}: sources.{role}[{index}]: {exc}{extra}") from None


def _no_unknown_keys(where: str, section: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} in {section}; expected one of: {', '.join(sorted(allowed))}"
        )
