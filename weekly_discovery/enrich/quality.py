"""The quality gates for audio features: the feature contract's rules, applied by the Spark enrich job.

Every value arrives as text (API bodies are read with string fields, file values are cast to text),
so a non-numeric value is caught here rather than silently nulled by a parser. Per field, in order:

1. null (the provider does not send the field, e.g. ReccoBeats' ``time_signature``): stays null;
2. not a finite number, or not whole for an integer field: **quarantined**;
3. one of the rule's ``unknown`` values (real exports carry ``time_signature`` 0 or 1 and ``tempo``
   0.0 for "could not detect"): **kept as null and counted**; the model step drops or imputes it;
4. outside ``low..high``: **quarantined**.

The rules themselves (type, range, unknown values, meaning) are the shared feature contract,
:data:`weekly_discovery.core.features.RULES`. A track with any quarantined field has all its features
withheld (written to ``quarantine/features/ds=D`` with every failing field and value), never passed on.
docs/enrichment.md shows this table; :func:`markdown_table` generates it.
"""

from __future__ import annotations

from weekly_discovery.core.features import RULES

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
