"""The stand-in over real HTTP: paging, auth, faults, writes, feature sources, accounting, CLI.

Expected values come from the library object (the data the server is serving), never from the
server's own responses, and a few tests drive spotipy so the real client's request shapes are used.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import spotipy

from devtools.standin import FaultConfig, StandIn, generate_demo_library
from devtools.standin.library import SAVED_TRACKS

REPO = Path(__file__).resolve().parents[2]
READ_SCOPES = "user-library-read playlist-read-private playlist-read-collaborative"


@pytest.fixture
def library():
    return generate_demo_library(seed=5, n_tracks=1500)  # disliked playlist > 100 entries


@pytest.fixture
def standin(library):
    with StandIn(library) as server:
        yield server


def _client(server: StandIn, token: str | None = None) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token or server.issue_access_token()}"
    return session


def _spotipy(server: StandIn, token: str | None = None, **kwargs) -> spotipy.Spotify:
    kwargs = {"retries": 0, "status_retries": 0, "status_forcelist": (), **kwargs}
    sp = spotipy.Spotify(auth=token or server.issue_access_token(), **kwargs)
    sp.prefix = server.api_base_url
    return sp


def _refresh(server: StandIn, refresh_token: str | None = None, **kwargs) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token or server.refresh_token}
    return requests.post(server.token_url, data=data, auth=(server.client_id, server.client_secret), **kwargs)


def _pages(session: requests.Session, url: str) -> list[dict]:
    pages = []
    while url:
        response = session.get(url)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        url = pages[-1]["next"]
    return pages


def _owned_playlist(library, role="disliked"):
    return library.playlists[library.roles[role][0]]


# -- addresses ---------------------------------------------------------------------------------


def test_urls_and_connection_json(standin):
    assert standin.base_url.startswith("http://127.0.0.1:")
    assert standin.api_base_url == standin.base_url + "/v1/"
    assert standin.token_url == standin.base_url + "/api/token"
    assert standin.reccobeats_url == standin.base_url + "/reccobeats"
    conn = json.loads(standin.connection_json())
    assert conn == {
        "conn_type": "generic",
        "login": "demo-client",
        "password": "demo-secret",
        "extra": {
            "refresh_token": "demo-refresh-token",
            "api_base_url": standin.api_base_url,
            "token_url": standin.token_url,
        },
    }


# -- paging --------------------------------------------------------------------------------------


def test_saved_tracks_next_links_chain_to_total(standin, library):
    session = _client(standin)
    pages = _pages(session, standin.api_base_url + "me/tracks?limit=50")
    assert len(pages) == -(-len(library.saved) // 50)
    assert all(page["total"] == len(library.saved) for page in pages)
    got = [(item["added_at"], item["track"]["id"]) for page in pages for item in page["items"]]
    assert got == library.saved
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    assert pages[1]["previous"] == pages[0]["href"]


def test_default_limit_and_offset_past_the_end(standin, library):
    session = _client(standin)
    page = session.get(standin.api_base_url + "me/tracks").json()
    assert page["limit"] == 20 and page["offset"] == 0 and len(page["items"]) == 20
    beyond = session.get(standin.api_base_url + f"me/tracks?offset={len(library.saved) + 5}").json()
    assert beyond["items"] == [] and beyond["next"] is None


def test_links_use_the_host_the_client_used(standin):
    session = _client(standin)
    session.headers["Host"] = "spotify.example:1234"
    page = session.get(standin.api_base_url + "me/tracks?limit=5").json()
    assert page["next"] == "http://spotify.example:1234/v1/me/tracks?offset=5&limit=5"


@pytest.mark.parametrize(
    ("path", "limit", "status"),
    [
        ("me/tracks", 50, 200),
        ("me/tracks", 51, 400),
        ("me/tracks", 0, 400),
        ("me/playlists", 51, 400),
        ("playlists/{pid}/items", 50, 200),
        ("playlists/{pid}/items", 51, 400),
        ("playlists/{pid}/tracks", 100, 200),
        ("playlists/{pid}/tracks", 101, 400),
    ],
)
def test_limits_are_enforced(standin, library, path, limit, status):
    pid = _owned_playlist(library).id
    response = _client(standin).get(standin.api_base_url + path.format(pid=pid), params={"limit": limit})
    assert response.status_code == status
    if status == 400:
        assert response.json() == {"error": {"status": 400, "message": "Invalid limit"}}
    else:
        assert len(response.json()["items"]) == limit


def test_playlist_items_through_spotipy_include_every_entry_kind(standin, library):
    playlist = _owned_playlist(library)
    sp = _spotipy(standin)
    page = sp.playlist_items(playlist.id)
    entries = page["items"]
    while page["next"]:
        page = sp.next(page)
        entries += page["items"]
    assert len(entries) == len(playlist.items)
    for entry, expected in zip(entries, playlist.items):
        assert entry["item"] == entry["track"]
        if expected.kind == "track":
            assert entry["item"]["id"] == expected.track_id and entry["is_local"] is False
        elif expected.kind == "episode":
            assert entry["item"]["type"] == "episode" and entry["item"]["id"] == expected.episode.id
        elif expected.kind == "local":
            assert entry["is_local"] is True and entry["item"]["id"] is None
            assert entry["item"]["uri"] == expected.local.uri
        else:
            assert entry["item"] is None
    assert {e.kind for e in playlist.items} == {"track", "episode", "local", "null"}


def test_playlist_object_embeds_the_first_page(standin, library):
    playlist = _owned_playlist(library)
    body = _client(standin).get(standin.api_base_url + f"playlists/{playlist.id}").json()
    assert body["id"] == playlist.id and body["snapshot_id"] == playlist.snapshot_id
    assert body["items"]["total"] == len(playlist.items) and len(body["items"]["items"]) == 50
    assert body["tracks"] == body["items"]
    assert urlsplit(body["items"]["next"]).path == f"/v1/playlists/{playlist.id}/items"


def test_fields_keeps_named_top_level_keys(standin, library):
    playlist = _owned_playlist(library)
    body = _client(standin).get(
        standin.api_base_url + f"playlists/{playlist.id}", params={"fields": "snapshot_id,name,items(total)"}
    ).json()
    assert set(body) == {"snapshot_id", "name", "items"}


def test_my_playlists_lists_owned_and_followed(standin, library):
    pages = _pages(_client(standin), standin.api_base_url + "me/playlists?limit=2")
    listed = {p["id"]: p for page in pages for p in page["items"]}
    assert set(listed) == set(library.playlists)
    for pid, playlist in library.playlists.items():
        assert listed[pid]["items"]["total"] == len(playlist.items)
        assert listed[pid]["owner"]["id"] == playlist.owner_id


# -- ownership, snapshots -------------------------------------------------------------------------


def test_items_of_a_playlist_the_user_does_not_own_are_forbidden(standin, library):
    (editorial,) = library.editorial_playlist_ids()
    session = _client(standin)
    response = session.get(standin.api_base_url + f"playlists/{editorial}/items")
    assert response.status_code == 403
    assert response.json() == {"error": {"status": 403, "message": "Forbidden"}}
    metadata = session.get(standin.api_base_url + f"playlists/{editorial}").json()
    assert metadata["owner"]["id"] == "spotify" and "items" not in metadata


def test_unknown_and_malformed_playlist_ids(standin):
    session = _client(standin)
    assert session.get(standin.api_base_url + "playlists/" + "0" * 22 + "/items").status_code == 404
    assert session.get(standin.api_base_url + "playlists/not-an-id/items").status_code == 400


def test_snapshot_id_changes_when_items_change(standin, library):
    playlist = _owned_playlist(library, "reference")
    session = _client(standin)

    def snapshot() -> str:
        return session.get(standin.api_base_url + f"playlists/{playlist.id}", params={"fields": "snapshot_id"}).json()[
            "snapshot_id"
        ]

    first = snapshot()
    assert snapshot() == first  # stable while nothing changes
    del playlist.items[0]  # the library is live: edit it directly
    second = snapshot()
    assert second != first
    assert standin.touch_playlist(playlist.id) == snapshot() != second
    track_id = next(iter(library.tracks))
    written = session.post(
        standin.api_base_url + f"playlists/{playlist.id}/items", json={"uris": [f"spotify:track:{track_id}"]}
    ).json()["snapshot_id"]
    assert written == snapshot() and written not in (first, second)


# -- tokens -----------------------------------------------------------------------------------------


def test_refresh_issues_unique_tokens_with_the_granted_scopes(standin):
    first, second = _refresh(standin), _refresh(standin)
    assert first.status_code == second.status_code == 200
    body = first.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert set(body["scope"].split()) == {
        "user-library-read", "playlist-read-private", "playlist-read-collaborative",
        "playlist-modify-private", "playlist-modify-public",
    }
    assert "refresh_token" not in body
    assert body["access_token"] != second.json()["access_token"]
    me = requests.get(standin.api_base_url + "me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == standin.library.user_id


def test_client_credentials_in_the_body_are_accepted_and_wrong_ones_refused(standin):
    form = {"grant_type": "refresh_token", "refresh_token": standin.refresh_token,
            "client_id": standin.client_id, "client_secret": standin.client_secret}
    assert requests.post(standin.token_url, data=form).status_code == 200
    wrong = requests.post(standin.token_url, data=form | {"client_secret": "nope"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"


def test_revoked_refresh_token_gives_invalid_grant(standin):
    token = standin.issue_access_token()
    standin.revoke_refresh_token()
    response = _refresh(standin)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Refresh token revoked"}
    # access tokens already issued keep working until they expire
    assert _client(standin, token).get(standin.api_base_url + "me").status_code == 200


def test_missing_unknown_and_expired_tokens_get_401(library):
    with StandIn(library, faults=FaultConfig(token_ttl=1)) as server:
        token = _refresh(server).json()["access_token"]
        me = server.api_base_url + "me"
        assert requests.get(me).status_code == 401
        assert requests.get(me, headers={"Authorization": "Bearer nonsense"}).status_code == 401
        assert requests.get(me, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        time.sleep(1.1)
        expired = requests.get(me, headers={"Authorization": f"Bearer {token}"})
        assert expired.status_code == 401
        assert expired.json() == {"error": {"status": 401, "message": "The access token expired"}}
        fresh = _refresh(server).json()["access_token"]
        assert requests.get(me, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
        server.expire_access_tokens()
        assert requests.get(me, headers={"Authorization": f"Bearer {fresh}"}).status_code == 401


def test_authorization_code_flow(standin):
    redirect_uri = "http://127.0.0.1:8888/callback"
    response = requests.get(
        standin.base_url + "/authorize",
        params={"client_id": standin.client_id, "response_type": "code", "redirect_uri": redirect_uri,
                "scope": READ_SCOPES, "state": "xyz"},
        allow_redirects=False,
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    answer = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert answer["state"] == "xyz"
    assert standin.last_authorize_scopes == READ_SCOPES.split()

    exchange = {"grant_type": "authorization_code", "code": answer["code"], "redirect_uri": redirect_uri}
    auth = (standin.client_id, standin.client_secret)
    tokens = requests.post(standin.token_url, data=exchange, auth=auth).json()
    assert set(tokens["scope"].split()) == set(READ_SCOPES.split())
    assert requests.post(standin.token_url, data=exchange, auth=auth).json()["error"] == "invalid_grant"  # one use
    refreshed = _refresh(standin, tokens["refresh_token"]).json()
    assert set(refreshed["scope"].split()) == set(READ_SCOPES.split())


# -- faults -------------------------------------------------------------------------------------------


def test_scripted_failures_then_success_with_retry_after(library):
    faults = FaultConfig(script={"GET /v1/me/tracks": [429, 503]}, retry_after=2)
    with StandIn(library, faults=faults) as server:
        session, url = _client(server), server.api_base_url + "me/tracks"
        first = session.get(url)
        assert first.status_code == 429 and first.headers["Retry-After"] == "2"
        assert first.json() == {"error": {"status": 429, "message": "API rate limit exceeded"}}
        assert session.get(url).status_code == 503
        assert session.get(url).status_code == 200
        assert session.get(server.api_base_url + "me").status_code == 200
        assert server.count("GET /v1/me/tracks") == 3 and server.count(status=429) == 1


def test_spotipy_retries_through_scripted_failures(library):
    faults = FaultConfig(script={"/v1/me/tracks": [429, 503]}, retry_after=0)
    with StandIn(library, faults=faults) as server:
        sp = _spotipy(server, retries=3, status_retries=3, status_forcelist=(429, 503), backoff_factor=0)
        assert len(sp.current_user_saved_tracks(limit=5)["items"]) == 5
        assert server.count("/v1/me/tracks") == 3


def test_quota_exceeded_body_and_header(library):
    with StandIn(library, faults=FaultConfig(quota_exceeded=True, quota_retry_after=86400)) as server:
        response = _client(server).get(server.api_base_url + "me")
        assert response.status_code == 429 and response.headers["Retry-After"] == "86400"
        assert response.json() == {"error": {"status": 429, "message": "API quota exceeded", "reason": "QUOTA_EXCEEDED"}}
        # spotipy exposes the reason only when its session does not retry 429 itself
        sp = _spotipy(server, requests_session=requests.Session())
        with pytest.raises(spotipy.SpotifyException) as caught:
            sp.current_user()
        assert caught.value.http_status == 429 and caught.value.reason == "QUOTA_EXCEEDED"
        # ReccoBeats and the accounts service are separate services with their own limits
        assert _refresh(server).status_code == 200
        track_id = next(t for t in library.tracks.values() if t.reccobeats_id).id
        assert requests.get(server.reccobeats_url + "/v1/audio-features", params={"ids": track_id}).status_code == 200


def test_fail_first_n_per_route(library):
    with StandIn(library, faults=FaultConfig(fail_first_n=2)) as server:
        session = _client(server)
        statuses = [session.get(server.api_base_url + "me").status_code for _ in range(3)]
        assert statuses == [429, 503, 200]
        assert session.get(server.api_base_url + "me/playlists").status_code == 429  # its own count


def test_random_failures_are_reproducible(library):
    def run() -> list[int]:
        faults = FaultConfig(seed=42, fail_rate=0.5, fail_statuses=(500, 502))
        with StandIn(library, faults=faults) as server:
            session = _client(server)
            return [session.get(server.api_base_url + "me").status_code for _ in range(30)]

    first = run()
    assert first == run()
    assert {500, 502, 200} <= set(first)


def test_token_endpoint_faults_can_be_switched_off(library):
    with StandIn(library, faults=FaultConfig(fail_rate=1.0)) as server:
        response = _refresh(server)
        assert response.status_code == 503 and response.json()["error"] == "server_error"
    with StandIn(library, faults=FaultConfig(fail_rate=1.0, token_faults=False)) as server:
        assert _refresh(server).status_code == 200


# -- audio features ------------------------------------------------------------------------------


def test_audio_features_in_request_order_with_nulls(standin, library):
    missing = next(t.id for t in library.tracks.values() if not t.spotify_has_features)
    known = [t.id for t in library.tracks.values() if t.spotify_has_features][:3]
    ids = [known[0], missing, "0" * 22, known[1], known[2]]
    features = _spotipy(standin).audio_features(ids)  # spotipy calls /audio-features/?ids=...
    assert [f and f["id"] for f in features] == [known[0], None, None, known[1], known[2]]
    track = library.tracks[known[0]]
    assert features[0]["energy"] == track.features["energy"]
    assert features[0]["time_signature"] == track.features["time_signature"]
    assert features[0]["duration_ms"] == track.duration_ms


def test_audio_features_limit(standin, library):
    ids = list(library.tracks)
    session = _client(standin)
    assert session.get(standin.api_base_url + "audio-features", params={"ids": ",".join(ids[:100])}).status_code == 200
    too_many = session.get(standin.api_base_url + "audio-features", params={"ids": ",".join(ids[:101])})
    assert too_many.status_code == 400 and too_many.json()["error"]["status"] == 400


def test_audio_features_forbidden_mode(library):
    with StandIn(library, audio_features="forbidden") as server:
        response = _client(server).get(server.api_base_url + "audio-features", params={"ids": next(iter(library.tracks))})
        assert response.status_code == 403
        assert response.json() == {"error": {"status": 403, "message": "Forbidden"}}


def test_reccobeats_limits_and_href_mapping(standin, library):
    url = standin.reccobeats_url + "/v1/audio-features"
    unknown_to_rb = next(t.id for t in library.tracks.values() if t.reccobeats_id is None)
    known = [t.id for t in library.tracks.values() if t.reccobeats_id][:39]
    response = requests.get(url, params={"ids": ",".join(known + [unknown_to_rb])})  # 40 ids, no token
    assert response.status_code == 200
    content = response.json()["content"]
    by_spotify_id = {row["href"].rsplit("/", 1)[1]: row for row in content}
    assert list(by_spotify_id) == known  # the unknown id is silently omitted
    for spotify_id, row in by_spotify_id.items():
        track = library.tracks[spotify_id]
        assert row["href"] == f"https://open.spotify.com/track/{spotify_id}"
        assert row["id"] == track.reccobeats_id != spotify_id
        assert "time_signature" not in row
        assert row["valence"] == track.features["valence"] and row["tempo"] == track.features["tempo"]
    assert requests.get(url, params={"ids": ",".join(known + [unknown_to_rb, known[0]])}).status_code == 400
    assert requests.get(url, params={"ids": ""}).status_code == 400


# -- writes and scopes --------------------------------------------------------------------------------


def test_create_playlist_add_and_replace_items_with_spotipy(standin, library):
    sp = _spotipy(standin)
    created = sp.current_user_playlist_create("Weekly Discovery", public=False, description="made by a test")
    assert created["owner"]["id"] == library.user_id and created["items"]["total"] == 0
    pid = created["id"]
    assert library.playlists[pid].name == "Weekly Discovery" and library.playlists[pid].public is False

    track_ids = list(library.tracks)[:150]
    added = sp.playlist_add_items(pid, track_ids[:100])  # spotipy posts a bare JSON list
    assert library.playlists[pid].track_ids() == track_ids[:100]
    assert added["snapshot_id"] == library.playlists[pid].snapshot_id != created["snapshot_id"]
    sp.playlist_add_items(pid, track_ids[100:102], position=0)
    assert library.playlists[pid].track_ids()[:3] == [track_ids[100], track_ids[101], track_ids[0]]

    replaced = sp.playlist_replace_items(pid, track_ids[120:150])
    assert library.playlists[pid].track_ids() == track_ids[120:150]
    assert replaced["snapshot_id"] == library.playlists[pid].snapshot_id
    assert all(e.added_by == library.user_id for e in library.playlists[pid].items)


def test_write_limits_and_validation(standin, library):
    pid = _owned_playlist(library).id
    session, url = _client(standin), standin.api_base_url + f"playlists/{pid}/items"
    uris = [f"spotify:track:{t}" for t in list(library.tracks)[:101]]
    assert session.post(url, json={"uris": uris}).status_code == 400
    assert session.put(url, json={"uris": uris}).status_code == 400
    assert session.post(url, json={"uris": ["spotify:track:" + "0" * 22]}).status_code == 400
    assert session.post(url, json={"uris": ["spotify:local:a:b:c:100"]}).status_code == 400
    assert session.post(url, json={"uris": uris[:1], "position": 10_000}).status_code == 400
    assert session.post(standin.api_base_url + "me/playlists", json={"public": False}).status_code == 400


def test_legacy_create_playlist_for_user(standin, library):
    session = _client(standin)
    ok = session.post(standin.api_base_url + f"users/{library.user_id}/playlists", json={"name": "legacy"})
    assert ok.status_code == 201 and ok.json()["name"] == "legacy"
    other = session.post(standin.api_base_url + "users/someone-else/playlists", json={"name": "x"})
    assert other.status_code == 403


def test_writes_need_a_modify_scope(standin, library):
    session = _client(standin, standin.issue_access_token(READ_SCOPES))
    pid = _owned_playlist(library).id
    uris = [f"spotify:track:{next(iter(library.tracks))}"]
    for response in (
        session.post(standin.api_base_url + "me/playlists", json={"name": "x"}),
        session.post(standin.api_base_url + f"playlists/{pid}/items", json={"uris": uris}),
        session.put(standin.api_base_url + f"playlists/{pid}/items", json={"uris": uris}),
    ):
        assert response.status_code == 403
        assert response.json() == {"error": {"status": 403, "message": "Insufficient client scope"}}
    only_private = _client(standin, standin.issue_access_token(READ_SCOPES + " playlist-modify-private"))
    assert only_private.post(standin.api_base_url + f"playlists/{pid}/items", json={"uris": uris}).status_code == 201


def test_saved_tracks_need_library_scope(standin):
    session = _client(standin, standin.issue_access_token("playlist-read-private"))
    response = session.get(standin.api_base_url + "me/tracks")
    assert response.status_code == 403 and response.json()["error"]["message"] == "Insufficient client scope"


def test_writes_to_a_playlist_the_user_does_not_own_are_forbidden(standin, library):
    (editorial,) = library.editorial_playlist_ids()
    uris = [f"spotify:track:{next(iter(library.tracks))}"]
    response = _client(standin).post(standin.api_base_url + f"playlists/{editorial}/items", json={"uris": uris})
    assert response.status_code == 403


def test_live_library_edits_show_up(standin, library):
    new_favourite = next(t for t in library.tracks if t not in library.role_track_ids("liked"))
    library.save_track(new_favourite)
    page = _client(standin).get(standin.api_base_url + "me/tracks?limit=1").json()
    assert page["items"][0]["track"]["id"] == new_favourite and page["total"] == len(library.saved)


# -- accounting and lifecycle -------------------------------------------------------------------------


def test_request_counter_includes_token_and_failed_requests(library):
    with StandIn(library, faults=FaultConfig(script={"/v1/me/tracks": [503]})) as server:
        token = _refresh(server).json()["access_token"]
        session = _client(server, token)
        session.get(server.api_base_url + "me/tracks")
        session.get(server.api_base_url + "me/tracks")
        session.get(server.api_base_url + f"playlists/{_owned_playlist(library).id}/items")
        requests.get(server.api_base_url + "me")  # 401
        session.get(server.base_url + "/v1/nowhere")  # 404
        assert server.requests == [
            ("POST", "/api/token"),
            ("GET", "/v1/me/tracks"),
            ("GET", "/v1/me/tracks"),
            ("GET", "/v1/playlists/{playlist_id}/items"),
            ("GET", "/v1/me"),
            ("GET", "/v1/nowhere"),
        ]
        assert server.count() == 6
        assert server.count("/v1/me") == 3  # /v1/me and /v1/me/tracks
        assert server.count("GET /v1/playlists") == 1
        assert server.count(status=503) == 1 and server.count(status=401) == 1
        server.reset_counts()
        assert server.count() == 0 and server.requests == []


def test_stop_closes_keep_alive_connections(library):
    server = StandIn(library).start()
    session = _client(server)
    url = server.api_base_url + "me"
    assert session.get(url).status_code == 200
    server.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url, timeout=2)


def test_saved_tracks_role_source_name_matches_library_constant(library):
    assert library.roles["liked"][0] == SAVED_TRACKS == "saved_tracks"


def test_cli_serves_prints_connection_and_writes_config(tmp_path):
    config = tmp_path / "demo.toml"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.standin", "--port", "0", "--tracks", "400",
         "--print-connection", "--write-config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    try:
        first = process.stdout.readline().strip()
        assert first.startswith("standin listening on http://127.0.0.1:"), first
        connection = json.loads(process.stdout.readline())
        token = _refresh_with(connection).json()["access_token"]
        me = requests.get(connection["extra"]["api_base_url"] + "me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert config.read_text().startswith("# Weekly Discovery configuration")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "GET /v1/me" not in stderr  # no per-request lines by default


def _refresh_with(connection: dict) -> requests.Response:
    return requests.post(
        connection["extra"]["token_url"],
        data={"grant_type": "refresh_token", "refresh_token": connection["extra"]["refresh_token"]},
        auth=(connection["login"], connection["password"]),
    )
