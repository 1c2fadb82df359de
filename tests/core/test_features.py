"""The audio-feature contract, declared once in core: every stage reads these ranges from it."""

from __future__ import annotations

from weekly_discovery.core.features import RATIO_FEATURES, RULES, RULES_BY_FIELD
from weekly_discovery.core.vocabulary import FEATURE_COLUMNS


def test_every_feature_has_its_type_range_and_not_detected_values():
    # written out by hand: what Spotify's /audio-features documents, widened where real exports go further
    assert [(r.field, r.type, r.low, r.high, r.unknown) for r in RULES] == [
        ("danceability", "double", 0.0, 1.0, ()),
        ("energy", "double", 0.0, 1.0, ()),
        ("speechiness", "double", 0.0, 1.0, ()),
        ("instrumentalness", "double", 0.0, 1.0, ()),
        ("acousticness", "double", 0.0, 1.0, ()),
        ("liveness", "double", 0.0, 1.0, ()),
        ("valence", "double", 0.0, 1.0, ()),
        ("loudness", "double", -70.0, 10.0, ()),
        ("tempo", "double", 0.0, None, (0.0,)),
        ("key", "int", -1, 11, ()),
        ("mode", "int", 0, 1, ()),
        ("time_signature", "int", 3, 7, (0.0, 1.0)),
        ("duration_ms", "long", 1, None, ()),
    ]
    assert tuple(RULES_BY_FIELD) == FEATURE_COLUMNS


def test_every_feature_says_what_it_means():
    assert all(rule.meaning for rule in RULES)
    assert RULES_BY_FIELD["mode"].meaning == "0 = minor, 1 = major"


def test_the_ratio_features_are_the_ones_on_a_0_to_1_scale():
    assert RATIO_FEATURES == ("danceability", "energy", "speechiness", "instrumentalness", "acousticness",
                              "liveness", "valence")


def test_a_range_reads_as_the_docs_show_it():
    assert [RULES_BY_FIELD[f].range_text() for f in ("loudness", "tempo", "duration_ms")] == [
        "-70..10", ">= 0", ">= 1"]
