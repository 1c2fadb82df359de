"""The user's configuration file: which Spotify sources play which role, and where the lake is.

One TOML file (see ``weekly-discovery.example.toml``), found through the environment variable
``WEEKLY_DISCOVERY_CONFIG`` or the Airflow Variable ``weekly_discovery_config``, read when a run
starts (never when a DAG file is parsed). Every key is checked: a typo or a malformed id stops the
run with a message naming the key and the expected form.

The file's shape is declared once, as frozen pydantic dataclasses (unknown keys forbidden, ranges,
``Literal`` choices), and every rule lives on its field: the same checks run when a test or a job
builds :class:`Model` or :class:`Enrichment` directly and when a manual run's Params are applied
(:meth:`Config.with_params`). Each field's ``description`` is its expected form; pydantic's errors
become a :class:`ConfigError` in one place, :func:`_explain`, which names the key and that form.
They are pydantic *dataclasses* (not ``BaseModel``) so that callers keep building them like the
dataclasses they replaced: positional arguments, ``dataclasses.replace``, ``==``.
"""

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import field, replace
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AllowInfNan,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError

from weekly_discovery.core.errors import UserError
from weekly_discovery.core.spotify_ids import InvalidSpotifyId, parse_spotify_id
from weekly_discovery.core.vocabulary import FEATURE_COLUMNS, PLAYLIST, POST_FEATURES, ROLES, SAVED_TRACKS
from weekly_discovery.lake import layout as lake_layout
from weekly_discovery.lake import storage

CONFIG_ENV = "WEEKLY_DISCOVERY_CONFIG"
CONFIG_VARIABLE = "weekly_discovery_config"
LAKE_ENV = "WEEKLY_DISCOVERY_LAKE"
MODEL_GRIDS = ("default", "quick")
PROVIDERS = ("spotify", "reccobeats", "file")
DEFAULT_RECCOBEATS_URL = "https://api.reccobeats.com"


class ConfigError(UserError, ValueError):
    """The configuration file is missing or invalid; the message says what to change."""


# --- the building blocks of the schema --------------------------------------------------------------

#: Every table refuses keys it does not know: a typo must stop the run, not be silently ignored.
_TABLE = ConfigDict(extra="forbid")

#: Strict: TOML's ``true`` and ``1.5`` are not whole numbers (pydantic's lax mode would take ``true``).
WholeNumber = Annotated[int, Strict()]
#: Strict too (``true`` is not a number), but an integer is taken and stored as a float.
Number = Annotated[float, Strict(), AllowInfNan(False)]

Provider = Literal[PROVIDERS]  # type: ignore[valid-type]
FeatureName = Literal[FEATURE_COLUMNS]  # type: ignore[valid-type]
ColumnName = Literal[("id", *FEATURE_COLUMNS)]  # type: ignore[valid-type]
Grid = Literal[MODEL_GRIDS]  # type: ignore[valid-type]
Role = Literal[ROLES]  # type: ignore[valid-type]


def _between(low: float, high: float) -> Any:
    """The range of a number field and the message that states it, from the same two numbers."""
    kind = "a whole number" if isinstance(low, int) else "a number"
    return Field(ge=low, le=high, description=f"{kind} between {low} and {high}")


def _problem(text: str) -> PydanticCustomError:
    """A rule's own message. Starting with "must", it follows the key's name; otherwise it follows "key: ".

    The text travels in the context, not in the template, so braces in a user's value are harmless.
    """
    return PydanticCustomError("config", "{problem}", {"problem": text})


def _distinct(values: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(values)) != len(values):
        raise ValueError("names repeat")  # the field's description says what is expected
    return values


def _http_url(url: str) -> str:
    """An http(s) URL without credentials, trailing slash dropped (paths are appended to it)."""
    authority = url.split("://", 1)[-1].split("/", 1)[0]
    if "@" in authority:  # checked first, so that no message echoes the password
        bare = url.replace(authority, authority.rsplit("@", 1)[1], 1)
        raise _problem(
            "must not carry a user name or password (user:pass@): the URL is written into the lake's "
            f"request files, and ReccoBeats needs no credentials; write {bare!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    return url.rstrip("/")


def _divides_one(width: float) -> float:
    if abs(round(1 / width) * width - 1) > 1e-9:
        raise _problem(f"must divide 1 evenly (0.05, 0.1, 0.2, 0.25...), got {width}")
    return width


def _playlist_id(ref: str, alternatives: str = "") -> str:
    try:
        return parse_spotify_id(ref, PLAYLIST)
    except InvalidSpotifyId as exc:
        raise _problem(f"{exc}{alternatives}") from None


def _liked_ref(ref: str) -> str:
    """``saved_tracks`` or a playlist's id (from an id, URI or link)."""
    return SAVED_TRACKS if ref.strip() == SAVED_TRACKS else _playlist_id(ref, ' or "saved_tracks"')


def _playlist_ref(ref: str) -> str:
    """A playlist's id (from an id, URI or link): the other roles cannot hold the Liked Songs."""
    if ref.strip() == SAVED_TRACKS:
        raise _problem(f'"{SAVED_TRACKS}" (your Liked Songs) can only be used under sources.liked')
    return _playlist_id(ref)


def _beside_the_config(path: str, info: ValidationInfo) -> str:
    """A relative path in the file is relative to the file's folder, not to the working directory."""
    folder = (info.context or {}).get("folder")
    if folder is None or "://" in path or Path(path).expanduser().is_absolute():
        return path
    return str(Path(folder) / path)


# --- what callers read ------------------------------------------------------------------------------


@dataclass(frozen=True, config=_TABLE)
class Source:
    """One place tracks come from: the user's Liked Songs or one playlist, in one role."""

    role: Role
    kind: Literal[SAVED_TRACKS, PLAYLIST]  # type: ignore[valid-type]
    spotify_id: str | None = None

    @property
    def key(self) -> str:
        """The path-safe key the lake uses for this source."""
        return lake_layout.source_key(self.kind, self.spotify_id)

    def describe(self) -> str:
        return "Liked Songs" if self.kind == SAVED_TRACKS else f"playlist {self.spotify_id}"


@dataclass(frozen=True, config=_TABLE)
class FeatureFile:
    """A downloaded snapshot of audio features keyed by Spotify track id (CSV or Parquet)."""

    path: Annotated[str, Field(min_length=1, description="the path of your CSV or Parquet file")]
    # None (the file leaves it out): from the path's extension
    format: Literal["csv", "parquet"] = Field(None, validate_default=True,  # type: ignore[assignment]
                                              description='"csv" or "parquet"')
    # our column name -> the file's column name ("id" -> track id); the names left out are the file's too
    columns: Mapping[ColumnName, str] = Field(
        default_factory=dict, validate_default=True, description="a table of our names -> the file's column names",
        json_schema_extra={"must": "map our names to the file's column names"})

    _resolve_path = field_validator("path")(_beside_the_config)

    @field_validator("format", mode="before")
    @classmethod
    def _format_from_extension(cls, value: Any, info: ValidationInfo) -> Any:
        if value not in (None, ""):
            return value
        return "parquet" if str(info.data.get("path", "")).endswith(".parquet") else "csv"

    @field_validator("columns")
    @classmethod
    def _every_column_named(cls, columns: Mapping[str, str]) -> dict[str, str]:
        return {**{name: name for name in sorted(get_args(ColumnName))}, **columns}


@dataclass(frozen=True, config=_TABLE)
class Enrichment:
    """Where audio features come from, in order, and how strict coverage must be."""

    providers: Annotated[tuple[Provider, ...], Field(
        min_length=1, description=f"a non-empty list of distinct names from {', '.join(PROVIDERS)} "
                                  "(in the order to ask them)"), AfterValidator(_distinct)] = ("spotify", "reccobeats")
    reccobeats_url: Annotated[str, Field(description="an http(s) URL"), AfterValidator(_http_url)] = \
        DEFAULT_RECCOBEATS_URL
    missing_retry_days: Annotated[WholeNumber, Field(ge=0, description="a whole number of days >= 0")] = 30
    # unset (None): weekly_discovery.enrich.coverage.DEFAULT_MIN_COVERAGE, a floor for the labelled roles only
    min_coverage: Annotated[Number | None, Field(ge=0, le=1, description="a share between 0 and 1 (e.g. 0.9)")] = None
    file: FeatureFile | None = None


@dataclass(frozen=True, config=_TABLE)
class Report:
    """How the weekly library report bins, filters and flags."""

    bin_width: Annotated[Number, _between(0.01, 0.5), AfterValidator(_divides_one)] = 0.1
    # list artists with MORE than this many liked tracks
    top_artist_min_tracks: Annotated[WholeNumber, _between(0, 10_000)] = 3
    strong_correlation: Annotated[Number, _between(0.0, 1.0)] = 0.5


@dataclass(frozen=True, config=_TABLE)
class Model:
    """What the weekly model learns from and what it recommends."""

    features: Annotated[tuple[FeatureName, ...], Field(
        min_length=1, description=f"a non-empty list of distinct names from {', '.join(FEATURE_COLUMNS)}"),
        AfterValidator(_distinct)] = POST_FEATURES
    top_n: Annotated[WholeNumber, _between(1, 10_000)] = 30
    # at most this many songs of one artist in a week's playlist; "auto": from how concentrated the liked
    # songs are on a few artists (recommend/scoring/cap.py)
    max_per_artist: Annotated[Union[Literal["auto"], Annotated[WholeNumber, _between(1, 10_000)]], Field(
        description='"auto" or a whole number from 1 to 10000')] = "auto"
    playlist_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                             Field(description="a non-empty name of at most 100 characters")] = "Weekly Discovery"
    # a candidate is "recommended" at or above this probability
    threshold: Annotated[Number, _between(0.0, 1.0)] = 0.5
    seed: Annotated[WholeNumber, _between(0, 2**31 - 1)] = 42
    folds: Annotated[WholeNumber, _between(2, 20)] = 5
    # "quick": one small configuration per model family (small libraries, demos)
    grid: Annotated[Grid, Field(description=f"one of {', '.join(MODEL_GRIDS)}")] = "default"
    # challengers also learn each feature's average over the track's artist
    artist_profile: Annotated[StrictBool, Field(description="true or false")] = True
    # background songs (a sample of the week's candidates) as unlabeled examples, positive-unlabeled learning
    # (docs/model.md): "auto" when the disliked sources give fewer than 50 usable songs
    background: Annotated[Literal["auto", "always", "never"], Field(
        description='one of "auto", "always", "never"')] = "auto"
    # a pick still not saved to Liked Songs this many weeks after it was offered is a weak negative (0: never)
    unsaved_after_weeks: Annotated[WholeNumber, _between(0, 52)] = 4
    # the weight of such a pick against a disliked song's 1
    unsaved_weight: Annotated[Number, _between(0.0, 1.0)] = 0.5


DISCOVER_SOURCES = ("reccobeats", "artists", "playlists", "catalog")
"""The discovery stage's candidate sources (``weekly_discovery.discover.sources`` has one module each;
a test keeps the two lists equal: a layer may not import a stage)."""
DEFAULT_DISCOVER_SOURCES = ("reccobeats", "artists", "playlists")  # catalog needs a file: the user adds it
DEFAULT_DISCOVER_BUDGETS: Mapping[str, int] = {"reccobeats": 20, "artists": 150, "playlists": 0, "catalog": 0}
DiscoverSource = Literal[DISCOVER_SOURCES]  # type: ignore[valid-type]
ALBUM_GROUPS = ("album", "single", "compilation", "appears_on")


def _album_groups(value: str) -> str:
    groups = [g for g in value.split(",") if g]
    if not groups or set(groups) - set(ALBUM_GROUPS):
        raise _problem(f"must be a comma-separated list of {', '.join(ALBUM_GROUPS)}, got {value!r}")
    return value


CATALOG_MISSING = (
    'discover.sources lists "catalog" but discover.catalog is not set; add catalog = "<path of your '
    'tracks_features.csv>" under [discover] (e.g. Kaggle\'s "Spotify 1.2M+ Songs"), or drop "catalog" from sources')


def _with_default_budgets(budgets: Mapping[str, int]) -> dict[str, int]:
    """A budget given for one source keeps the others' defaults."""
    return {**DEFAULT_DISCOVER_BUDGETS, **budgets}


@dataclass(frozen=True, config=_TABLE)
class Discover:
    """[discover]: where the weekly candidate songs come from, how many requests each source may make,
    and how long a published song stays out of the playlist.

    Defaults, and why:

    * ``sources``: songs similar to recent likes first (ReccoBeats), then new albums of favourite
      artists, then the candidate playlists the user still keeps (no requests).
    * ``budgets`` (requests per source per week): ``reccobeats`` 20 (about 20 x 100 suggestions; the
      service publishes no limits, so stay polite), ``artists`` 150 (10 artists: ~1-3 album pages each,
      plus one request per album not read before; album track lists are kept in the lake),
      ``playlists`` 0 (their songs are already in ``silver/tracks``). A retry of one request under the
      HTTP retry policy is not a new request.
    * ``seeds_per_call = 5`` (ReccoBeats takes 1-5 seeds), ``recommendations_per_call = 100`` (1-100).
    * ``like_half_life_days = 90``, ``min_like_weight = 0.2``: a like's weight as a ReccoBeats seed
      halves every 90 days but never falls below 0.2, so recent taste leads while old likes still come up.
    * ``top_artists = 10``: the artists with the most liked songs whose albums are read.
    * ``album_groups = "album,single"``, ``albums_page_size = 10`` (development-mode apps get 400 above
      10), ``album_tracks_page_size = 50`` (the API's maximum).
    * ``novelty_weeks = 12``: a song published in one of the 12 weeks before is not offered again
      (0: only the library is excluded).
    * ``hit_seed_weight = 2``: a liked song that was one of the pipeline's earlier picks (the model was
      confident, and the user agreed by saving it) is drawn as a ReccoBeats seed twice as readily
      (1: no preference).
    * ``catalog``: no default. The path (beside the config file when relative) or object-store URI of
      a track catalogue CSV the user downloaded once (Kaggle's "Spotify 1.2M+ Songs"
      ``tracks_features.csv`` layout); the ``catalog`` source, listed in ``sources``, needs it. Spark
      reads it in the score job (:mod:`weekly_discovery.recommend.scoring.catalog`); its budget is 0 (no requests).
    """

    sources: Annotated[tuple[DiscoverSource, ...], Field(
        description=f"a list of distinct names from {', '.join(DISCOVER_SOURCES)} (in the order to ask them)"),
        AfterValidator(_distinct)] = DEFAULT_DISCOVER_SOURCES
    budgets: Annotated[Mapping[DiscoverSource, Annotated[WholeNumber, Field(ge=0)]], Field(
        description="a table of source name -> requests per week (whole numbers >= 0)"),
        AfterValidator(_with_default_budgets)] = field(default_factory=lambda: dict(DEFAULT_DISCOVER_BUDGETS))
    reccobeats_url: Annotated[str, Field(description="an http(s) URL"), AfterValidator(_http_url)] = \
        DEFAULT_RECCOBEATS_URL
    seeds_per_call: Annotated[WholeNumber, _between(1, 5)] = 5
    recommendations_per_call: Annotated[WholeNumber, _between(1, 100)] = 100
    like_half_life_days: Annotated[Number, Field(gt=0, description="a number of days above 0")] = 90.0
    min_like_weight: Annotated[Number, Field(gt=0, le=1, description="a number above 0 and at most 1")] = 0.2
    top_artists: Annotated[WholeNumber, _between(1, 1000)] = 10
    album_groups: Annotated[str, AfterValidator(_album_groups)] = "album,single"
    albums_page_size: Annotated[WholeNumber, _between(1, 10)] = 10
    album_tracks_page_size: Annotated[WholeNumber, _between(1, 50)] = 50
    novelty_weeks: Annotated[WholeNumber, _between(0, 520)] = 12
    hit_seed_weight: Annotated[Number, Field(ge=1, le=100, description="a number from 1 to 100")] = 2.0
    catalog: Annotated[str | None, Field(min_length=1, description="the path or URI of your catalogue CSV file")] \
        = None

    _resolve_catalog = field_validator("catalog")(_beside_the_config)

    @model_validator(mode="after")
    def _catalog_given(self) -> "Discover":
        if "catalog" in self.sources and self.catalog is None:
            raise _problem(CATALOG_MISSING)
        return self

    def budget(self, source: str) -> int:
        """The per-week request budget of ``source``."""
        return self.budgets[source]

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (for a run's metrics)."""
        return TypeAdapter(Discover).dump_python(self, mode="json")


@dataclass(frozen=True, config=_TABLE)
class Config:
    """The checked configuration as every stage reads it (:func:`load_config` builds it from the file)."""

    path: Path
    sources: tuple[Source, ...]
    lake_root: str
    keep_versions_days: int = 30
    spotify_connection_id: str = "spotify_default"
    enrichment: Enrichment = field(default_factory=Enrichment)
    report: Report = field(default_factory=Report)
    model: Model = field(default_factory=Model)
    discover: Discover = field(default_factory=Discover)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def sources_in(self, role: str) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.role == role)

    @property
    def lake(self) -> lake_layout.Lake:
        return lake_layout.Lake(self.lake_root)

    def with_params(self, params: Mapping[str, Any]) -> "Config":
        """This config with a manual run's Airflow Params (``top_n``, ``playlist_name``) applied.

        They are checked by the same rules as the file's [model] keys. A missing, None or empty Param
        keeps the config's value; other Params (``dry_run``, ``ds``...) are not configuration and are
        ignored here. A whole float (the Params form may send ``25.0``) counts as a whole number.
        """
        given = {key: params[key] for key in ("top_n", "playlist_name") if params.get(key) not in (None, "")}
        if not given:
            return self
        changes = {key: int(value) if isinstance(value, float) and value.is_integer() else value
                   for key, value in given.items()}
        try:
            model = replace(self.model, **changes)
        except ValidationError as exc:
            raise ConfigError(_explain(exc.errors()[0], Model, given, name=lambda key: f"the {key} param")) from None
        return replace(self, model=model)


# --- the file's own tables (what is not handed to callers as is) -----------------------------------

_LikedRefs = Annotated[list[Annotated[str, AfterValidator(_liked_ref)]], Field(description="a list of strings")]
_PlaylistRefs = Annotated[list[Annotated[str, AfterValidator(_playlist_ref)]], Field(description="a list of strings")]


@dataclass(frozen=True, config=_TABLE)
class _Sources:
    """[sources]: references by role (ids, URIs or links), read as playlist ids or ``saved_tracks``."""

    liked: _LikedRefs = field(default_factory=list)
    disliked: _PlaylistRefs = field(default_factory=list)
    reference: _PlaylistRefs = field(default_factory=list)
    candidates: _PlaylistRefs = field(default_factory=list)

    def as_sources(self) -> tuple[Source, ...]:
        return tuple(Source(role=role, kind=SAVED_TRACKS) if ref == SAVED_TRACKS
                     else Source(role=role, kind=PLAYLIST, spotify_id=ref)
                     for role in ROLES for ref in getattr(self, role))

    @model_validator(mode="after")
    def _one_role_each(self) -> "_Sources":
        seen: dict[str, str] = {}
        for role in ROLES:
            for index, ref in enumerate(getattr(self, role)):
                if ref in seen:
                    raise _problem(f"sources.{role}[{index}] ({ref!r}) is already listed under "
                                   f"sources.{seen[ref]}; a source can play one role only")
                seen[ref] = role
        return self


@dataclass(frozen=True, config=_TABLE)
class _Lake:
    # WEEKLY_DISCOVERY_LAKE overrides it; "" or none: "lake" beside the config file
    root: str | None = Field(None, description="a folder path or an object-store URI (string)")
    # VACUUM, in the weekly chain: files a Delta table stopped using more than this many days ago are deleted
    keep_versions_days: Annotated[WholeNumber, _between(0, 3650)] = 30


@dataclass(frozen=True, config=_TABLE)
class _Spotify:
    connection_id: Annotated[str, Field(min_length=1, description="an Airflow connection id (string)")] = \
        "spotify_default"


@dataclass(frozen=True, config=_TABLE)
class _ConfigFile:
    """The whole TOML file, table by table."""

    sources: _Sources = field(default_factory=_Sources)
    lake: _Lake = field(default_factory=_Lake)
    spotify: _Spotify = field(default_factory=_Spotify)
    enrichment: Enrichment = field(default_factory=Enrichment)
    report: Report = field(default_factory=Report)
    model: Model = field(default_factory=Model)
    discover: Discover = field(default_factory=Discover)

    @model_validator(mode="after")
    def _complete(self) -> "_ConfigFile":
        # here, not on _Sources: a file without [sources] gets this message, not an unknown key's
        if not self.sources.as_sources():
            raise _problem(f'[sources] lists no source; add at least liked = ["{SAVED_TRACKS}"]')
        # here, not on Enrichment: code may build Enrichment(providers=("file", ...)) to test other things
        if "file" in self.enrichment.providers and self.enrichment.file is None:
            raise _problem(
                'enrichment.providers lists "file" but there is no [enrichment.file] table with path = "..." '
                "(a CSV or Parquet snapshot keyed by Spotify track id)")
        return self


_FILE = TypeAdapter(_ConfigFile)


# --- reading the file -------------------------------------------------------------------------------


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
    except IsADirectoryError:
        raise ConfigError(
            f"Configuration file {path} is a folder, not a file. Point {CONFIG_ENV} at the TOML file "
            f"itself (e.g. {path / 'weekly-discovery.toml'})."
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config {path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start:exc.start + 1]!r}); "
            "save the file as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: not valid TOML ({exc})") from None
    try:
        tables = _FILE.validate_python(data, context={"folder": path.parent})
    except ValidationError as exc:
        raise ConfigError(f"config {path}: {_explain(exc.errors()[0], _ConfigFile, data)}") from None
    return Config(
        path=path,
        sources=tables.sources.as_sources(),
        lake_root=_lake_root(path, env.get(LAKE_ENV) or tables.lake.root or "lake"),
        keep_versions_days=tables.lake.keep_versions_days,
        spotify_connection_id=tables.spotify.connection_id,
        enrichment=tables.enrichment,
        report=tables.report,
        model=tables.model,
        discover=tables.discover,
        raw=data,
    )


def _lake_root(path: Path, root: str) -> str:
    """A folder relative to the config file (not the cwd), or an object-store URI in Spark's form."""
    if "://" not in root and not Path(root).expanduser().is_absolute():
        return str(path.parent / root)
    if storage.is_object_uri(root):
        try:
            return storage.normalize_uri(root)  # s3:// -> s3a://
        except storage.StorageError as exc:
            raise ConfigError(f"config {path}: lake.root: {exc}") from None
    return root


# --- pydantic's errors as the user's words ---------------------------------------------------------

_MISSING = object()


def _explain(error: ErrorDetails, schema: type, data: Any, name: Callable[[str], str] = lambda key: key) -> str:
    """One validation error as a sentence naming the key (through ``name``) and its expected form.

    ``schema`` is the dataclass ``data`` was validated as; the key's expected form is the
    ``description`` of the field the error is in, and the value shown is the one written for that
    field (the whole list, not the one bad item).
    """
    loc = tuple(error["loc"])
    depth, info, table = _follow(schema, loc)
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument") and depth == len(loc) - 1:
        return _unknown_key(loc, _table_fields(table))
    if loc[-1:] == ("[key]",) and depth == len(loc) - 2 and info is not None:
        return _unknown_key(loc[:-1], _mapping_keys(info.annotation))
    if error["type"] == "config":
        problem = error["ctx"]["problem"]
        if depth == len(loc) and table is not None:  # a check across a table's keys names them itself
            return problem
        key = name(_dotted(loc))
        return f"{key} {problem}" if problem.startswith("must ") else f"{key}: {problem}"
    if depth == len(loc) and table is not None:
        return f"[{_dotted(loc)}] must be a table"
    if info is None or not info.description:
        return f"{name(_dotted(loc))}: {error['msg']}"
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    must = extra.get("must") or f"be {info.description}"  # "must" words what "be <description>" cannot
    key, value = name(_dotted(loc[:depth])), _value_at(data, loc[:depth])
    if value is _MISSING:
        return f"{key} is missing; it must {must}"
    return f"{key} must {must}, got {value!r}"


def _follow(schema: type, loc: tuple[Any, ...]) -> tuple[int, FieldInfo | None, type | None]:
    """How far ``loc`` goes through named fields: (depth, the last field's info, the table it reaches)."""
    table: type | None = schema
    depth, info = 0, None
    for part in loc:
        fields = _table_fields(table)
        if part not in fields:
            break
        info = fields[part]
        table = _table_type(info.annotation)
        depth += 1
    return depth, info, table


def _table_fields(table: type | None) -> dict[str, FieldInfo]:
    return dict(getattr(table, "__pydantic_fields__", {}) or {})


def _table_type(annotation: Any) -> type | None:
    """The table (pydantic dataclass) a field holds, if it holds one (``FeatureFile | None`` too)."""
    if get_origin(annotation) in (Union, UnionType):
        tables = [t for t in get_args(annotation) if hasattr(t, "__pydantic_fields__")]
        return tables[0] if len(tables) == 1 else None
    return annotation if hasattr(annotation, "__pydantic_fields__") else None


def _mapping_keys(annotation: Any) -> list[str]:
    """The allowed keys of a ``Mapping[Literal[...], ...]`` field."""
    key_type = get_args(annotation)[0] if get_args(annotation) else None
    return [str(k) for k in get_args(key_type)]


def _unknown_key(loc: tuple[Any, ...], allowed: Mapping[str, Any] | list[str]) -> str:
    section = f"[{_dotted(loc[:-1])}]" if loc[:-1] else "top level"
    return f"unknown key {loc[-1]!r} in {section}; expected one of: {', '.join(sorted(allowed))}"


def _dotted(loc: tuple[Any, ...]) -> str:
    """``("sources", "liked", 1)`` -> ``sources.liked[1]``: the key as the user would write it."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _value_at(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return data
