"""Extraction against the stand-in: paging, incremental stop, snapshot skip, faults, auth errors."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from tests.ingest.conftest import (
    DS1,
    DS2,
    FaultConfig,
    RetryPolicy,
    StandIn,
    lake_contents,
    make_api,
    make_config,
    pages,
)
from weekly_discovery.ingest.extract import SourcesUnreadable, extract_library
from weekly_discovery.spotify.errors import QuotaExceeded, ReauthorizationRequired


def manifest(config, key, ds):
    return json.loads((config.lake.raw_partition(key, ds) / "_manifest.json").read_text())


def own_page(key: str, ds: str, index: int) -> str:
    return f"raw/spotify/source={key}/ds={ds}/page-{index:05d}.json"


def page_bytes(config, relative: str) -> bytes:
    return Path(config.lake.root, relative).read_bytes()


def test_first_run_pages_at_the_largest_size_and_keeps_pages_verbatim(standin, library, tmp_path):
    config = make_config(standin, tmp_path)
    extract_library(make_api(standin), config.lake, config, DS1)

    saved = manifest(config, "saved_tracks", DS1)
    assert saved["mode"] == "full" and saved["item_total"] == len(library.saved)
    assert len(saved["pages"]) == pages(len(library.saved))
    assert standin.count("GET /v1/me/tracks") == pages(len(library.saved))
    page_limits = {
        json.loads(config.lake.absolute(page).read_text())["limit"]
        for source in config.sources
        for page in manifest(config, source.key, DS1)["pages"]
    }
    assert page_limits == {50}  # the largest page size both endpoints allow
    for source in config.sources_in("disliked") + config.sources_in("candidates"):
        playlist = library.playlists[source.spotify_id]
        m = manifest(config, source.key, DS1)
        assert m["item_total"] == len(playlist.items) and m["snapshot_id"] == playlist.snapshot_id
        assert len(m["pages"]) == pages(len(playlist.items))
    # page 0 of Liked Songs, stored as the server sent it
    first = json.loads(config.lake.absolute(saved["pages"][0]).read_text())
    assert [i["track"]["id"] for i in first["items"]] == [t for _, t in library.saved[:50]]
    assert first["total"] == len(library.saved) and first["next"].endswith("offset=50&limit=50")


def test_request_budget_first_run_and_unchanged_rerun(standin, library, tmp_path):
    config = make_config(standin, tmp_path)
    api = make_api(standin)
    extract_library(api, config.lake, config, DS1)
    playlists = [s for s in config.sources if s.kind == "playlist"]
    expected = 1 + pages(len(library.saved)) + sum(1 + pages(len(library.playlists[s.spotify_id].items)) for s in playlists)
    assert standin.count("/v1/") == expected  # /me + ceil(n/50) per source + 1 metadata per playlist

    standin.reset_counts()
    summary = extract_library(api, config.lake, config, DS2)
    assert {r.mode for r in summary.sources} == {"unchanged"}
    assert standin.count("/v1/") == 1 + len(config.sources)  # one request per source, plus /me
    # an unchanged source reuses the earlier pages: copied into its own partition (hard links: no space)
    for source in config.sources:
        first, second = manifest(config, source.key, DS1), manifest(config, source.key, DS2)
        assert second["pages"] == [own_page(source.key, DS2, i) for i in range(len(first["pages"]))]
        assert second["copied_from"] == dict(zip(second["pages"], first["pages"]))
        for old, new in zip(first["pages"], second["pages"]):
            old_file, new_file = Path(config.lake.root, old), Path(config.lake.root, new)
            assert new_file.read_bytes() == old_file.read_bytes()
            assert new_file.stat().st_ino == old_file.stat().st_ino


def test_incremental_stop_at_known_tracks(standin, library, tmp_path):
    config = make_config(standin, tmp_path)
    api = make_api(standin)
    extract_library(api, config.lake, config, DS1)
    unsaved = [t for t in library.tracks if t not in {tid for _, tid in library.saved}][:3]
    for i, track_id in enumerate(unsaved):
        library.save_track(track_id, added_at=f"2026-11-2{i}T10:00:00Z")
    standin.reset_counts()
    extract_library(api, config.lake, config, DS2)

    m = manifest(config, "saved_tracks", DS2)
    assert m["mode"] == "incremental" and m["item_total"] == len(library.saved)
    assert standin.count("GET /v1/me/tracks") == 1
    first_run = manifest(config, "saved_tracks", DS1)["pages"]
    # the new page, then the first run's pages copied into this date's partition
    assert m["pages"] == [own_page("saved_tracks", DS2, i) for i in range(1 + len(first_run))]
    assert m["copied_from"] == dict(zip(m["pages"][1:], first_run))
    assert [page_bytes(config, p) for p in m["pages"][1:]] == [page_bytes(config, p) for p in first_run]
    newest = json.loads(config.lake.absolute(m["pages"][0]).read_text())["items"][:3]
    assert [i["track"]["id"] for i in newest] == unsaved[::-1]


def test_removed_track_forces_a_full_pass(standin, library, tmp_path):
    config = make_config(standin, tmp_path)
    api = make_api(standin)
    extract_library(api, config.lake, config, DS1)
    del library.saved[100]  # unliked an older song: the newest is still known, but the total shrank
    standin.reset_counts()
    extract_library(api, config.lake, config, DS2)
    m = manifest(config, "saved_tracks", DS2)
    assert m["mode"] == "full" and len(m["pages"]) == pages(len(library.saved))
    assert all(p.startswith("raw/spotify/source=saved_tracks/ds=2026-11-23/") for p in m["pages"])


def test_full_resync_reads_everything(standin, library, tmp_path):
    config = make_config(standin, tmp_path)
    api = make_api(standin)
    extract_library(api, config.lake, config, DS1)
    standin.reset_counts()
    summary = extract_library(api, config.lake, config, DS2, full_resync=True)
    assert {r.mode for r in summary.sources} == {"full"}
    assert standin.count("GET /v1/me/tracks") == pages(len(library.saved))


def test_changed_playlist_is_read_again_unchanged_one_is_not(standin, library, tmp_path):
    config = make_config(standin, tmp_path)
    api = make_api(standin)
    extract_library(api, config.lake, config, DS1)
    changed, unchanged = config.sources_in("candidates")[:2]
    standin.touch_playlist(changed.spotify_id)
    standin.reset_counts()
    extract_library(api, config.lake, config, DS2)
    assert manifest(config, changed.key, DS2)["mode"] == "full"
    assert manifest(config, unchanged.key, DS2)["mode"] == "unchanged"
    items_paths = [r.path for r in standin.request_log if r.route.endswith("/items")]
    assert items_paths and all(changed.spotify_id in p for p in items_paths)


def test_rerun_of_the_same_date_gives_the_same_lake(standin, library, tmp_path):
    config = make_config(standin, tmp_path)
    api = make_api(standin)
    extract_library(api, config.lake, config, DS1)
    extract_library(api, config.lake, config, DS2)
    before = lake_contents(config.lake.root)
    extract_library(api, config.lake, config, DS2)
    assert lake_contents(config.lake.root) == before
    assert_self_contained(config, DS2)
    assert not Path(config.lake.root, "_staging").exists()


def assert_self_contained(config, ds: str) -> None:
    """Each source's partition of ``ds`` holds its manifest and the pages it lists, nothing else."""
    for source in config.sources:
        folder = config.lake.raw_partition(source.key, ds)
        listed = [p.rsplit("/", 1)[1] for p in manifest(config, source.key, ds)["pages"]]
        assert all(p.startswith(f"raw/spotify/source={source.key}/ds={ds}/")
                   for p in manifest(config, source.key, ds)["pages"])
        assert sorted(p.name for p in folder.iterdir()) == sorted(["_manifest.json", *listed])


def test_faults_give_the_same_lake_as_a_clean_run(library, tmp_path):
    with StandIn(library) as clean:
        clean_config = make_config(clean, tmp_path, "clean")
        extract_library(make_api(clean), clean_config.lake, clean_config, DS1)
        clean_lake = lake_contents(clean_config.lake.root)
        port = clean.port
    script = {"GET /v1/me/tracks": [429, 503, 500, 401], "GET /v1/playlists/{playlist_id}/items": [502, 429, 401]}
    faults = FaultConfig(seed=3, fail_rate=0.2, retry_after=1, token_ttl=2, script=script)
    with StandIn(library, faults=faults, port=port) as faulty:  # same port: same page URLs
        config = make_config(faulty, tmp_path, "faulty")
        api = make_api(faulty, policy=RetryPolicy(max_attempts=12))
        extract_library(api, config.lake, config, DS1)
        statuses = {r.status for r in faulty.request_log}
    assert {429, 503, 401} <= statuses and api.stats["retries"] > 5
    faulty_lake = {k.replace("/faulty/", "/clean/"): v for k, v in lake_contents(config.lake.root).items()}
    assert faulty_lake == clean_lake


def test_revoked_refresh_token_fails_at_once_with_the_fix(standin, tmp_path):
    config = make_config(standin, tmp_path)
    standin.revoke_refresh_token()
    with pytest.raises(ReauthorizationRequired) as info:
        extract_library(make_api(standin), config.lake, config, DS1)
    assert "invalid_grant" in str(info.value) and "make spotify-auth" in str(info.value)
    assert standin.count("POST /api/token") == 1  # no retries
    assert standin.count("/v1/") == 0


def test_quota_exceeded_is_reported_not_retried(library, tmp_path):
    with StandIn(library, faults=FaultConfig(quota_exceeded=True)) as standin:
        config = make_config(standin, tmp_path)
        with pytest.raises(QuotaExceeded, match="QUOTA_EXCEEDED"):
            extract_library(make_api(standin), config.lake, config, DS1)
        assert standin.count("/v1/") == 1


def test_playlist_not_owned_is_named_with_the_fix_and_the_rest_is_extracted(standin, library, tmp_path, caplog):
    editorial = library.editorial_playlist_ids()[0]
    path = tmp_path / "c.toml"
    path.write_text(f'[sources]\nliked = ["saved_tracks"]\nreference = ["spotify:playlist:{editorial}"]\n')
    from weekly_discovery.settings.config import load_config

    config = load_config(path, env={"WEEKLY_DISCOVERY_LAKE": str(tmp_path / "lake")})
    with caplog.at_level(logging.ERROR), pytest.raises(SourcesUnreadable) as info:
        extract_library(make_api(standin), config.lake, config, DS1)
    assert editorial in str(info.value) and "owns or collaborates on" in str(info.value)
    assert "copy its songs into a playlist of your own" in str(info.value)
    assert manifest(config, "saved_tracks", DS1)["item_total"] == len(library.saved)


def test_source_removed_from_config_is_dropped_on_rerun(standin, tmp_path):
    config = make_config(standin, tmp_path)
    api = make_api(standin)
    extract_library(api, config.lake, config, DS1)
    dropped = config.sources_in("candidates")[0]
    smaller = type(config)(**{**config.__dict__, "sources": tuple(s for s in config.sources if s != dropped)})
    summary = extract_library(api, smaller.lake, smaller, DS1)
    assert summary.removed == [dropped.key]
    assert not config.lake.raw_partition(dropped.key, DS1).exists()


def test_secrets_are_not_logged(standin, tmp_path, caplog):
    config = make_config(standin, tmp_path)
    api = make_api(standin)
    with caplog.at_level(logging.DEBUG):
        extract_library(api, config.lake, config, DS1)
    text = caplog.text
    token = api.auth.get_access_token()
    for secret in (standin.client_secret, standin.refresh_token, token):
        assert secret not in text
    assert "page 1 of" in text and "requests" in text


DS3 = "2026-11-30"


def test_a_date_does_not_depend_on_an_earlier_date_s_files(standin, library, tmp_path):
    """Rerunning or deleting an earlier date neither breaks nor changes a later one."""
    config = make_config(standin, tmp_path)
    api = make_api(standin)
    extract_library(api, config.lake, config, DS1)
    unsaved = [t for t in library.tracks if t not in {tid for _, tid in library.saved}][0]
    library.save_track(unsaved, added_at="2026-11-20T10:00:00Z")
    extract_library(api, config.lake, config, DS2)  # incremental: one new page + DS1's pages
    extract_library(api, config.lake, config, DS3)  # unchanged: DS2's pages
    assert manifest(config, "saved_tracks", DS2)["mode"] == "incremental"
    assert manifest(config, "saved_tracks", DS3)["mode"] == "unchanged"
    later = {ds: lake_contents_of(config, ds) for ds in (DS2, DS3)}
    ds3_pages = manifest(config, "saved_tracks", DS3)["pages"]
    assert all("/ds=2026-11-30/" in p for p in ds3_pages)
    assert [i["track"]["id"] for i in json.loads(page_bytes(config, ds3_pages[0]))["items"]][0] == unsaved

    # un-like the song and rerun DS2: DS2 is now unchanged (its page-00000 is DS1's), DS3 keeps its own
    earliest = lake_contents_of(config, DS1)
    pages_before = len(manifest(config, "saved_tracks", DS2)["pages"])
    library.saved[:] = [(added, tid) for added, tid in library.saved if tid != unsaved]
    standin.reset_counts()
    extract_library(api, config.lake, config, DS2)
    assert standin.count("/v1/") == 1 + len(config.sources)  # the copies cost no request
    assert manifest(config, "saved_tracks", DS2)["mode"] == "unchanged"
    assert lake_contents_of(config, DS3) == later[DS3]
    # the rerun replaced DS2's hard-linked pages by new names (DS1's files unchanged) and left no page of
    # the first run behind: it had one page more (the new one), now stale
    assert len(manifest(config, "saved_tracks", DS2)["pages"]) == pages_before - 1
    assert_self_contained(config, DS2)
    assert lake_contents_of(config, DS1) == earliest
    # removing the earlier partitions altogether does not touch DS3 either
    for ds in (DS1, DS2):
        for source in config.sources:
            shutil.rmtree(config.lake.raw_partition(source.key, ds))
    assert lake_contents_of(config, DS3) == later[DS3]


def test_missing_previous_page_reads_the_source_in_full(standin, library, tmp_path):
    """A previous manifest whose pages are gone (an older lake, a hand deletion) is not reused."""
    config = make_config(standin, tmp_path)
    api = make_api(standin)
    extract_library(api, config.lake, config, DS1)
    playlist = config.sources_in("candidates")[0]
    Path(config.lake.root, manifest(config, "saved_tracks", DS1)["pages"][-1]).unlink()
    Path(config.lake.root, manifest(config, playlist.key, DS1)["pages"][0]).unlink()
    standin.reset_counts()
    extract_library(api, config.lake, config, DS2)
    saved, reread = manifest(config, "saved_tracks", DS2), manifest(config, playlist.key, DS2)
    assert saved["mode"] == "full" and saved["copied_from"] == {}
    assert standin.count("GET /v1/me/tracks") == pages(len(library.saved))
    assert reread["mode"] == "full" and reread["copied_from"] == {}
    assert len(reread["pages"]) == pages(len(library.playlists[playlist.spotify_id].items))
    items_paths = [r.path for r in standin.request_log if r.route.endswith("/items")]
    assert items_paths and all(playlist.spotify_id in p for p in items_paths)  # the other playlists are reused


def lake_contents_of(config, ds: str) -> dict:
    """One date's raw files (every source), as parsed JSON, minus the run-specific fields."""
    return {k: v for k, v in lake_contents(config.lake.root).items() if f"/ds={ds}/" in k}


def test_without_hard_links_reused_pages_are_copied(standin, library, tmp_path, monkeypatch):
    """A filesystem that refuses hard links (EXDEV, EPERM, ...) gets byte copies instead."""
    import errno
    import os

    config = make_config(standin, tmp_path)
    api = make_api(standin)
    extract_library(api, config.lake, config, DS1)

    def no_links(src, dst, *args, **kwargs):
        raise OSError(errno.EPERM, "hard links not supported here")

    monkeypatch.setattr(os, "link", no_links)
    standin.reset_counts()
    extract_library(api, config.lake, config, DS2)
    assert standin.count("/v1/") == 1 + len(config.sources)
    for source in config.sources:
        m = manifest(config, source.key, DS2)
        assert m["mode"] == "unchanged" and m["pages"]
        for new, old in m["copied_from"].items():
            new_file, old_file = Path(config.lake.root, new), Path(config.lake.root, old)
            assert new_file.read_bytes() == old_file.read_bytes()
            assert new_file.stat().st_ino != old_file.stat().st_ino


def test_a_source_that_cannot_be_read_on_a_rerun_keeps_its_earlier_partition(library, tmp_path):
    """The earlier run's partition is withdrawn only once the source has answered: a playlist that now
    answers 403 keeps the partition of the first run (the others are extracted again)."""
    with StandIn(library) as clean:
        config = make_config(clean, tmp_path)
        extract_library(make_api(clean), config.lake, config, DS1)
    before = lake_contents(config.lake.root)
    with StandIn(library, faults=FaultConfig(script={"GET /v1/playlists/{playlist_id}/items": [403]})) as refusing:
        with pytest.raises(SourcesUnreadable):
            extract_library(make_api(refusing), config.lake, config, DS1)
        refused = [r.path for r in refusing.request_log if r.status == 403]
    assert len(refused) == 1
    key = next(s.key for s in config.sources if s.spotify_id and s.spotify_id in refused[0])
    kept = {k: v for k, v in lake_contents(config.lake.root).items() if f"/source={key}/" in k}
    assert kept and kept == {k: v for k, v in before.items() if f"/source={key}/" in k}
    assert_self_contained(config, DS1)
