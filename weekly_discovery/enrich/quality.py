"""The quality gates for audio features: one declared rule per field, applied by the Spark enrich job.

Every value arrives as text (API bodies are read with string fields, file values are cast to text),
so a non-numeric value is caught here rather than silently nulled by a parser. Per field, in order:

1. null (the provider does not send the field, e.g. ReccoBeats' ``time_signature``): stays null;
2. not a finite number, or not whole for an integer field: **quarantined**;
3. one of the rule's ``unknown`` values (real exports carry ``time_signature`` 0 or 1 and ``tempo``
   0.0 for "could not detect"): **kept as null and counted**; the model step drops or imputes it;
4. outside ``low..high``: **quarantined**.

A track with any quarantined field has all its features withheld (written to
``quarantine/features/ds=D`` with every failing field and value), never passed on.
docs/enrichment.md shows this table; :func:`markdown_table` generates it.
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
"""One rule per feature column, in :data:`weekly_discovery.core.config.FEATURE_COLUMNS` order."""

RULES_BY_FIELD = {rule.field: rule for rule in RULES}
assert tuple(RULES_BY_FIELD) == FEATURE_COLUMNS, "one rule per feature column, same order"

NOT_A_NUMBER = "not a number"
NOT_WHOLE = "not a whole number"


def markdown_table() -> str:
    """The rule table as Markdown (docs/enrichment.md embeds it; a test keeps the two in sync)."""
    lines = [
        "| field | type | accepted | kept as unknown (null, counted) | meaning |",
        "|---|---|---|---|---|",
    ]
    for rule in RULES:
        unknown = ", ".join(f"{v:g}" for v in rule.unknown) or "-"
        lines.append(f"| `{rule.field}` | {rule.type} | {rule.range_text()} | {unknown} | {rule.meaning} |")
    return "\n".join(lines)
