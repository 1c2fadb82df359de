"""The discovery stage: gather this week's candidate songs from sources outside the user's library.

Candidates used to come only from playlists the user owns, which in 2026 means copying songs by hand.
Here each source (:mod:`weekly_discovery.discover.sources`) gathers songs the user does not have within
a per-week request budget; :func:`weekly_discovery.discover.gather.gather` runs them in the configured
order, keeps their answers verbatim in the raw layer and writes ``silver/candidates`` (one row per
(track, source), with where it came from). Ranking, novelty and reasons come after this stage.

Like every stage it imports only the layers (core, lake, spark, spotify), never another stage.
"""
