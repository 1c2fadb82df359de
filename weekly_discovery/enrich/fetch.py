"""The fetch step: walk the providers in the configured order, store every answer in the raw layer.

For date D (:func:`fetch_features`):

1. :func:`weekly_discovery.enrich.cache.wanted_ids`: library ids the cache cannot answer.
2. For each provider in ``enrichment.providers``, only ids still unresolved are considered:

   * ``file``: the ids the Spark look-up job found in the snapshot file count as resolved here, at
     the file's place in the order (no HTTP request for them);
   * an API provider: batches of at most ``batch_size`` ids. Each answer is written to
     ``raw/features/provider=<name>/ds=D/batch-NNNNN.json`` (the body, verbatim), then
     ``batch-NNNNN.request.json`` (the ids asked, when, how many requests; names from
     :func:`weekly_discovery.lake.batch_file_name`): each file atomically
     (:func:`weekly_discovery.lake.write_atomic`), the request file last, so a batch counts only once both
     exist and a crash loses at most the batch in flight. A rerun of D reuses D's complete
     batches: an id already asked of that provider on D is not asked again (answered or not).
   * the first :class:`~weekly_discovery.enrich.providers.base.ProviderOff` (Spotify's 403) turns the
     provider off for the rest of the run with one warning; the chain moves on.
   * when every provider of the chain was off without answering anything (e.g. ReccoBeats answering
     401 after Spotify's 403), the run fails with
     :class:`~weekly_discovery.enrich.providers.base.AllProvidersFailed` (a user error, not retried),
     after writing the manifests: a 0% coverage is a broken configuration, not an empty week.

3. ``_manifest.json`` per API provider partition lists its batches and this run's request count
   (:func:`request_counts` reads them back for benchmarks and the enrich metrics). It is written last
   (atomically): readers take the batches it lists, nothing else. A rerun of D adds batches under new
   numbers and never rewrites a listed file, so until it writes its manifest the earlier one stays true
   (a crashed rerun leaves D as the earlier run left it).

The Spark enrich job then reads the listed batches and merges D's rows into the feature cache.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from weekly_discovery.enrich import cache
from weekly_discovery.enrich.providers.base import (
    FILE_PROVIDER,
    AllProvidersFailed,
    FeatureProvider,
    ProviderContext,
    ProviderOff,
    build_provider,
    is_api_provider,
    provider_module,
)
from weekly_discovery.lake import (
    MANIFEST,
    Lake,
    batch_file_name,
    json_bytes,
    parse_batch_file_name,
    read_json,
    write_atomic,
)
from weekly_discovery.settings.config import Enrichment

log = logging.getLogger(__name__)

PROGRESS_LINES = 10  # about this many progress lines per provider, whatever the number of batches


@dataclass
class ProviderRun:
    """What one provider did for date D in this run."""

    name: str
    kind: str  # "api" or "file"
    status: str = "idle"  # idle (nothing to ask) | ok (asked) | reused (all from earlier batches) | off (403)
    note: str = ""
    asked: int = 0  # ids asked of this provider for D (reused batches included)
    answered: int = 0  # of those, ids it had features for
    new_batches: int = 0
    reused_batches: int = 0
    requests: int = 0  # HTTP requests made in this run (retries and a 403 included)
    off_reason: str = ""


@dataclass
class FetchSummary:
    ds: str
    chain: list[str]
    wanted: dict[str, Any]
    providers: list[ProviderRun] = field(default_factory=list)
    resolved: int = 0
    unresolved: int = 0
    seconds: float = 0.0

    @property
    def requests(self) -> dict[str, int]:
        """HTTP requests per provider in this run (the file provider makes none)."""
        return {p.name: p.requests for p in self.providers}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["requests"] = self.requests
        return data


@dataclass(frozen=True)
class _Batch:
    index: int
    ids: list[str]
    answered: set[str]
    fetched_at: str
    requests: int


def fetch_features(
    lake: Lake,
    ds: str,
    enrichment: Enrichment,
    context: ProviderContext | None = None,
    *,
    providers: dict[str, FeatureProvider] | None = None,
) -> FetchSummary:
    """Ask the providers for the features of D's wanted ids; write raw batches and manifests.

    ``providers`` may hold ready-made providers by name (tests); the others are built from
    ``context`` only when there is something to ask them (no connection is looked up otherwise).
    """
    started = time.monotonic()
    context = context or ProviderContext(enrichment)
    chain = list(enrichment.providers)
    wanted = cache.wanted_ids(lake, ds, enrichment)
    summary = FetchSummary(ds=ds, chain=chain, wanted=wanted.summary())
    log.info("ds=%s: %d library tracks, %d known, %d backing off (missing, retried after %d days), "
             "%d to ask (%d of them retried); providers in order: %s",
             ds, wanted.library, wanted.known, wanted.backing_off, enrichment.missing_retry_days,
             len(wanted.ids), wanted.retrying, ", ".join(chain))
    unresolved = list(wanted.ids)
    available = dict(providers or {})
    for position, name in enumerate(chain):
        if name == FILE_PROVIDER:
            run, answered = _walk_file(lake, ds, unresolved)
        else:
            nxt = chain[position + 1] if position + 1 < len(chain) else None
            run, answered = _walk_api(lake, ds, name, unresolved, available, context, nxt, chain)
        unresolved = [i for i in unresolved if i not in answered]
        summary.providers.append(run)
    summary.resolved = len(wanted.ids) - len(unresolved)
    summary.unresolved = len(unresolved)
    summary.seconds = round(time.monotonic() - started, 3)
    log.info("ds=%s: %d of %d asked ids have features, %d without; requests: %s; %.1fs",
             ds, summary.resolved, len(wanted.ids), summary.unresolved,
             ", ".join(f"{k} {v}" for k, v in summary.requests.items()) or "none", summary.seconds)
    if wanted.ids and all(p.status == "off" and not p.answered for p in summary.providers):
        raise AllProvidersFailed(_all_failed_message(ds, len(wanted.ids), summary.providers))
    return summary


def _all_failed_message(ds: str, wanted: int, runs: list[ProviderRun]) -> str:
    answers = "; ".join(f"{p.name}: {p.off_reason}" for p in runs)
    others = [n for n in ("reccobeats", FILE_PROVIDER) if n not in {p.name for p in runs}]
    add = " or ".join('a "file" snapshot' if n == FILE_PROVIDER else f'"{n}"' for n in others)
    return (f"every audio-feature provider in enrichment.providers failed for ds={ds}, so none of the {wanted} "
            f"tracks to enrich got features. {answers}. Fix what the answer names"
            + (f", or add {add} to enrichment.providers" if add else "")
            + "; the task is not retried (the same request would get the same answer)")


def _walk_file(lake: Lake, ds: str, unresolved: list[str]) -> tuple[ProviderRun, set[str]]:
    run = ProviderRun(FILE_PROVIDER, "file")
    if not unresolved:
        return run, set()
    looked_up, found = cache.file_lookup(lake, ds)
    not_looked_up = [i for i in unresolved if i not in looked_up]
    if not_looked_up:  # the look-up ran on other inputs (silver or cache changed since): say so
        log.warning("provider file: %d wanted ids were not looked up (the look-up ran before the inputs "
                    "changed); rerun lookup_file for ds=%s to include them", len(not_looked_up), ds)
    answered = {i for i in unresolved if i in found}
    run.asked = len(unresolved) - len(not_looked_up)
    run.answered = len(answered)
    run.status = "ok" if unresolved else "idle"
    log.info("provider file: %d of %d unresolved ids found in the snapshot file (no requests)",
             run.answered, len(unresolved))
    return run, answered


def _walk_api(
    lake: Lake,
    ds: str,
    name: str,
    unresolved: list[str],
    available: dict[str, FeatureProvider],
    context: ProviderContext,
    next_provider: str | None,
    chain: list[str],
) -> tuple[ProviderRun, set[str]]:
    module = provider_module(name)
    run = ProviderRun(name, "api")
    folder = lake.raw_features_partition(name, ds)
    wanted = set(unresolved)
    batches = _complete_batches(folder, module)
    asked_before = {i for b in batches for i in b.ids} & wanted
    answered = {i for b in batches for i in b.answered} & wanted
    run.reused_batches = sum(1 for b in batches if wanted.intersection(b.ids))
    run.asked = len(asked_before)
    if run.reused_batches:
        run.status = "reused"
        log.info("provider %s: reusing %d batch(es) already fetched for ds=%s (%d ids asked, %d answered)",
                 name, run.reused_batches, ds, len(asked_before), len(answered))
    to_ask = [i for i in unresolved if i not in asked_before]
    provider = None
    if to_ask:
        provider = available.get(name) or build_provider(name, context)
        available[name] = provider
        earlier = _read_manifest(folder)
        if earlier and earlier.get("status") == "off" and earlier.get("identity") == provider.identity:
            # A rerun of the same date: this provider refused (e.g. Spotify's 403) and nothing about
            # it changed since, so do not spend a request to hear the same answer.
            run.status, run.off_reason = "off", earlier.get("off_reason", "")
            run.note = _off_note(run.off_reason, next_provider) + " (as an earlier run of this date found)"
            log.warning("%s", run.note)
            to_ask = []
    if to_ask:
        size = min(module.BATCH_SIZE, provider.batch_size)
        n_batches = math.ceil(len(to_ask) / size)
        every = max(1, n_batches // PROGRESS_LINES)
        index = max((b.index for b in batches), default=-1) + 1
        started = time.monotonic()
        run.status = "ok"
        for k in range(n_batches):
            ids = to_ask[k * size:(k + 1) * size]
            try:
                result = provider.fetch(ids)
            except ProviderOff as off:
                run.requests += off.requests
                run.status, run.off_reason = "off", off.reason
                run.note = _off_note(off.reason, next_provider)
                log.warning("%s", run.note)
                break
            run.requests += result.requests
            batch = _write_batch(folder, index, ids, result, name, ds)
            batches.append(batch)
            index += 1
            run.new_batches += 1
            run.asked += len(ids)
            answered |= batch.answered
            if k == 0 or (k + 1) % every == 0 or k + 1 == n_batches:
                log.info("provider %s: batch %d of %d, %d of %d ids asked so far, %d answered, %d requests, "
                         "%.1fs elapsed", name, k + 1, n_batches, run.asked - len(asked_before), len(to_ask),
                         len(answered), run.requests, time.monotonic() - started)
    if unresolved and run.status != "off":
        log.info("provider %s: %d of %d unresolved ids answered, %d requests in this run",
                 name, len(answered), len(unresolved), run.requests)
    run.answered = len(answered)
    _write_manifest(folder, name, ds, chain, batches, run, provider.identity if provider else None)
    return run, answered


def _off_note(reason: str, next_provider: str | None) -> str:
    if next_provider:
        return f"{reason}; using the next provider ({next_provider})"
    return f"{reason}; no provider follows it in enrichment.providers"


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    return read_json(path) if path.is_file() else None


def _complete_batches(folder: Path, module: Any) -> list[_Batch]:
    """Batches of an earlier run of the same date: request file and body both present."""
    if not folder.is_dir():
        return []
    batches = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            path.unlink(missing_ok=True)  # left by a crash mid-write
            continue
        batch = parse_batch_file_name(path.name)
        if batch is None or not batch.request:
            continue
        index = batch.index
        body = folder / batch_file_name(index)
        if not body.is_file():
            continue
        request = read_json(path)
        ids = list(request["ids"])
        batches.append(_Batch(index, ids, set(module.parse_body(body.read_bytes(), ids)),
                              request["fetched_at"], int(request.get("requests", 0))))
    return sorted(batches, key=lambda b: b.index)


def _write_batch(folder: Path, index: int, ids: list[str], result: Any, provider: str, ds: str) -> _Batch:
    folder.mkdir(parents=True, exist_ok=True)
    fetched_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    write_atomic(folder / batch_file_name(index), result.body)
    request = {
        "provider": provider,
        "ds": ds,
        "batch": index,
        "body": batch_file_name(index),
        "url": result.url,
        "ids": list(ids),
        "answered": len(result.rows),
        "fetched_at": fetched_at,
        "requests": result.requests,
    }
    write_atomic(folder / batch_file_name(index, request=True), json_bytes(request))
    return _Batch(index, list(ids), set(result.rows), fetched_at, result.requests)


def _write_manifest(folder: Path, provider: str, ds: str, chain: list[str], batches: list[_Batch],
                    run: ProviderRun, identity: str | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if identity is None:  # nothing was asked in this run: keep what an earlier run recorded
        identity = (_read_manifest(folder) or {}).get("identity")
    manifest = {
        "identity": identity,
        "off_reason": run.off_reason,
        "provider": provider,
        "ds": ds,
        "chain": chain,
        "status": run.status,
        "note": run.note,
        "requests": run.requests,  # this run's HTTP requests
        "new_batches": run.new_batches,
        "reused_batches": run.reused_batches,
        "asked": run.asked,
        "answered": run.answered,
        "batches": [
            {"body": batch_file_name(b.index), "request": batch_file_name(b.index, request=True), "ids": len(b.ids),
             "answered": len(b.answered), "fetched_at": b.fetched_at}
            for b in sorted(batches, key=lambda b: b.index)
        ],
        "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    write_atomic(folder / MANIFEST, json_bytes(manifest))


def read_manifests(lake: Lake, ds: str, chain: list[str] | tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The manifests of D's provider partitions (API providers and the file look-up) that exist."""
    out = {}
    for name in chain:
        path = lake.raw_features_partition(name, ds) / MANIFEST
        if path.is_file():
            out[name] = read_json(path)
    return out


def request_counts(lake: Lake, ds: str, chain: list[str] | tuple[str, ...] | None = None) -> dict[str, int]:
    """HTTP requests per API provider made by the last fetch run of ``ds`` (from its manifests).

    ``chain`` defaults to every registered API provider that has a partition for ``ds``.
    """
    from weekly_discovery.enrich.providers.base import API_PROVIDERS

    names = [n for n in (chain or API_PROVIDERS) if is_api_provider(n)]
    return {name: int(m.get("requests", 0)) for name, m in read_manifests(lake, ds, names).items()}
