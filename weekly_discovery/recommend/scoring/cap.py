"""How many songs of one artist a week's playlist may hold: ``[model] max_per_artist``, or "auto".

"auto" follows how concentrated the liked songs are on a few artists. With ``p_a`` the share of the
liked songs whose primary artist is ``a``, ``sum(p_a^2)`` is the chance that two liked songs drawn at
random share their artist (the Herfindahl index); a playlist of ``top_n`` songs drawn like the library
then holds about ``top_n * sum(p_a^2)`` songs of the artist of any given song. The cap is that figure
rounded up, at least :data:`MIN_CAP` (variety on a big, varied library, where it is ~0.1) and at most
``top_n``. A library led by a few artists (a K-pop fan's 600 songs) gets 3-6 songs per artist instead
of the 2 that left its favourites' new songs out. docs/model.md gives the precision and variety measured
for each cap on the Kaggle set.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from weekly_discovery.core.vocabulary import LIKED

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

AUTO = "auto"
MIN_CAP = 2


def concentration(artist_counts: Iterable[int]) -> float:
    """``sum(p_a^2)`` over the artists' shares of the liked songs (0 without liked songs)."""
    counts = [c for c in artist_counts if c > 0]
    total = sum(counts)
    return sum((c / total) ** 2 for c in counts) if total else 0.0


def auto_cap(artist_counts: Iterable[int], top_n: int) -> int:
    """The "auto" cap for a library whose liked songs have these per-artist counts (see the module)."""
    return max(MIN_CAP, min(top_n, math.ceil(top_n * concentration(artist_counts) - 1e-9)))


def resolve(setting: int | str, top_n: int, artist_counts: Iterable[int]) -> int:
    """The cap in force: the configured number, or :func:`auto_cap` of the liked songs."""
    return auto_cap(artist_counts, top_n) if setting == AUTO else int(setting)


def liked_artist_counts(enriched: "DataFrame") -> list[int]:
    """Distinct liked songs per primary artist in the week's enriched table (a few thousand numbers)."""
    from pyspark.sql import functions as F

    liked = enriched.where(F.col("role") == LIKED).select("track_id", "primary_artist_id").dropDuplicates(["track_id"])
    artist = F.coalesce(F.col("primary_artist_id"), F.col("track_id"))
    return [r["n"] for r in liked.groupBy(artist.alias("_a")).agg(F.count(F.lit(1)).alias("n")).collect()]
