"""The audio-feature contract: each feature's type, accepted range, "not detected" values and meaning.

Declared once for every stage: the enrichment's quality gates apply it to the providers' answers
(:mod:`weekly_discovery.enrich.quality`), the catalogue reader to a downloaded file's rows
(:mod:`weekly_discovery.recommend.scoring.catalog`), the report bins the features on a 0..1 scale
(:data:`RATIO_FEATURES`). A value outside its range is quarantined; one of a rule's ``unknown`` values is
kept as null and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from weekly_discovery.core.vocabulary import FEATURE_COLUMNS


@dataclass(frozen=True)
class Rule:
    field: str
    type: Literal["double", "int", "long"]  # Spark type of the cleaned column
    low: float | None  # inclusive; None = unbounded
    high: float | None  # inclusive; None = unbounded
    unknown: tuple[float, ...] = ()  # values that mean "not detected": kept as null, counted
    meaning: str = ""

    @property
    def whole(self) -> bool:
        return self.type in ("int", "long")

    def range_text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g}..{self.high:g}"
        if self.low is not None:
            return f">= {self.low:g}"
        return f"<= {self.high:g}"


def _ratio(field: str, meaning: str) -> Rule:
    return Rule(field, "double", 0.0, 1.0, meaning=meaning)


RULES: tuple[Rule, ...] = (
    _ratio("danceability", "suitability for dancing"),
    _ratio("energy", "perceived intensity"),
    _ratio("speechiness", "presence of spoken words"),
    _ratio("instrumentalness", "likelihood of no vocals"),
    _ratio("acousticness", "confidence the track is acoustic"),
    _ratio("liveness", "presence of an audience"),
    _ratio("valence", "musical positiveness"),
    Rule("loudness", "double", -70.0, 10.0,
         meaning="dB; the spec says -60..0, real exports reach about +5, so -70..+10 is accepted"),
    Rule("tempo", "double", 0.0, None, unknown=(0.0,),
         meaning="beats per minute; 0.0 means no tempo detected (kept as null, counted)"),
    Rule("key", "int", -1, 11, meaning="pitch class 0 = C .. 11 = B; -1 = no key detected (a valid value, kept)"),
    Rule("mode", "int", 0, 1, meaning="0 = minor, 1 = major"),
    Rule("time_signature", "int", 3, 7, unknown=(0.0, 1.0),
         meaning="beats per bar (3/4 .. 7/4); 0 and 1 mean not detected (kept as null, counted)"),
    Rule("duration_ms", "long", 1, None, meaning="milliseconds, > 0"),
)
"""One rule per feature column, in :data:`~weekly_discovery.core.vocabulary.FEATURE_COLUMNS` order."""

RULES_BY_FIELD = {rule.field: rule for rule in RULES}
assert tuple(RULES_BY_FIELD) == FEATURE_COLUMNS, "one rule per feature column, same order"

RATIO_FEATURES = tuple(rule.field for rule in RULES if (rule.type, rule.low, rule.high) == ("double", 0.0, 1.0))
"""The audio features on a 0..1 scale (the ones the report's feature-range section bins)."""
