"""Issue 29, item 2: publishing replaces only the playlist this project created, never a playlist of the
user's that a name (the config's, a run's ``playlist_name`` Param, a lake's ``_playlist.json``) happens to
match, and never one of the config's ``[sources]``. Against the stand-in over real HTTP."""

from __future__ import annotations

import pytest

from tests.recommend.publish.conftest import DS, DS2, make_api, write_recommendations
from tests.recommend.publish.test_publish_safety import (
    CREATE,
    add_playlist,
    catalogue,
    spotify_writes,
    store_playlist_id,
)
from weekly_discovery.recommend.publish.playlist import DESCRIPTION, MARKER, PlaylistRefused, publish


def test_a_param_naming_a_playlist_the_user_made_is_refused_and_the_playlist_keeps_its_300_songs(
        standin, library, lake):
    favourites = add_playlist(library, "Favourites" + "0" * 12, "My Favourites", tracks=catalogue(library, 300))
    before = favourites.track_ids()
    write_recommendations(lake, DS, catalogue(library, 5, offset=300))
    with pytest.raises(PlaylistRefused, match="'My Favourites'.*was not created by Weekly Discovery"):
        publish(make_api(standin), lake, DS, "My Favourites")
    assert favourites.track_ids() == before
    assert not [w for w in spotify_writes(standin) if w != CREATE]


def test_a_lake_naming_a_playlist_the_user_made_is_refused(standin, library, lake):
    mine = add_playlist(library, "Mine" + "0" * 18, "Weekly Discovery", tracks=catalogue(library, 20))
    store_playlist_id(lake, "Weekly Discovery", mine.id)  # a swapped _playlist.json, or an old hand edit
    write_recommendations(lake, DS, catalogue(library, 5, offset=20))
    with pytest.raises(PlaylistRefused, match="was not created by Weekly Discovery"):
        publish(make_api(standin), lake, DS, "Weekly Discovery")
    assert len(mine.track_ids()) == 20


def test_the_projects_own_playlist_listed_as_a_source_is_never_replaced(standin, library, lake):
    ours = add_playlist(library, "Ours" + "0" * 18, "Weekly Discovery", tracks=catalogue(library, 8),
                        description=DESCRIPTION)
    write_recommendations(lake, DS, catalogue(library, 5, offset=8))
    with pytest.raises(PlaylistRefused, match="one of the \\[sources\\]"):
        publish(make_api(standin), lake, DS, "Weekly Discovery", sources=frozenset({ours.id}))
    assert len(ours.track_ids()) == 8


def test_the_playlist_the_project_creates_carries_the_marker_and_is_filled_again_next_week(standin, library, lake):
    write_recommendations(lake, DS, catalogue(library, 5))
    first = publish(make_api(standin), lake, DS, "Weekly Discovery")
    created = library.playlists[first.playlist_id]
    assert first.created and created.description.startswith(MARKER)
    write_recommendations(lake, DS2, catalogue(library, 4, offset=5))
    second = publish(make_api(standin), lake, DS2, "Weekly Discovery")
    assert second.playlist_id == first.playlist_id and len(created.track_ids()) == 4
