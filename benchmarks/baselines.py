"""Single-process pandas / scikit-learn versions of the five Spark jobs, on the same lake inputs.

    .venv/bin/python -m benchmarks.baselines {normalize,enrich,report,train,score} --lake L --ds D

Each does the same computation as its job, written the way one would without Spark, reads the same
inputs (the Delta tables through delta-rs, :mod:`weekly_discovery.lake.delta`) and writes its outputs as
plain files under ``<lake>/baseline/`` (never over the jobs' outputs):

- normalize: json-parse every listed page, flatten the items, classify (null / local / episode /
  missing id), drop repeats per source (first occurrence wins), write silver Parquet, bronze NDJSON
  and quarantine NDJSON.
- enrich: parse the raw batches, resolve asked vs answered, the quality gates (range / whole-number /
  unknown checks of ``features.quality.RULES``, vectorised), read the feature cache as of the date (per
  track the row with the greatest ``fetched_ds`` before it), put the new rows over it, join the silver
  tracks, write the new cache rows (what the job merges into the cache) and tracks_enriched.
- report: per-group histograms of the ratio features, the correlation matrix (``np.corrcoef``),
  top artists and coverage (``groupby``), written as JSON.
- train: the labelled set (one row per track), the same artist-grouped folds
  (:func:`weekly_discovery.recommend.training.folds.python_folds`), the same grid in scikit-learn (post LR,
  weighted LR x2, random forest x2, gradient boosting x2 as ``HistGradientBoostingClassifier``, which bins
  features like Spark's GBT), 5-fold CV, refit of the best and of the post's model, pickled.
- score: ``predict_proba`` over the candidate rows, the top N new tracks with at most K per artist.

Threads: random forests use 2 threads (``n_jobs=2``, matching ``local[2]``); everything else, the boosted
trees included, one thread (OpenMP's spin-waiting made 2 threads slower than 1 on a busy 2-core machine). The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # OpenMP spin-waits badly on a busy 2-core machine

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from weekly_discovery.core.vocabulary import FEATURE_COLUMNS, POST_FEATURES  # noqa: E402
from weekly_discovery.lake import AUDIO_FEATURES, SILVER_TRACKS, TRACKS_ENRICHED, Table, delta  # noqa: E402
from weekly_discovery.lake.layout import Lake, read_json  # noqa: E402

SEED = 42
FOLDS = 5
TOP_N, MAX_PER_ARTIST, THRESHOLD = 30, 2, 0.5


def _out(lake: Lake, name: str) -> Path:
    path = Path(lake.root, "baseline", name)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read(lake: Lake, table: Table, ds: str | None = None, columns: list[str] | None = None,
          filters: list[tuple] | None = None) -> pd.DataFrame:
    """A date's rows of a Delta table (without ``ds``), or the rows ``filters`` keep, as pandas."""
    data = delta.read(lake, table, ds, columns, filters)
    if data is None:
        raise SystemExit(f"no {table} table in {lake.root}")
    return data.to_pandas()


# --------------------------------------------------------------------------------------------------
# normalize
# --------------------------------------------------------------------------------------------------


def normalize(lake: Lake, ds: str) -> dict:
    silver, quarantine = [], []
    bronze_file = open(_out(lake, "bronze_items") / "part-00000.json", "w")
    bronze = 0
    for manifest_path in lake.raw_manifests(ds):
        m = read_json(manifest_path)
        context = {"ds": ds, "role": m["role"], "source_key": m["source_key"], "source_id": m.get("spotify_id"),
                   "source_name": m["name"], "snapshot_id": m.get("snapshot_id")}
        seen: dict[str, int] = {}
        position = 0
        saved = m["kind"] == "saved_tracks"
        for page in m["pages"]:
            try:
                data = json.loads(lake.absolute(page).read_bytes())
                items = data["items"]
            except (OSError, ValueError, KeyError, TypeError):
                quarantine.append({**context, "reason": "malformed_page", "page": page, "position": position})
                continue
            for entry in items:
                item = entry.get("item") or entry.get("track")
                bronze_file.write(json.dumps({**context, "page": page, "position": position,
                                              "added_at": entry.get("added_at"), "item": item}) + "\n")
                bronze += 1
                reason = None
                if item is None:
                    reason = "null_item"
                elif entry.get("is_local") or item.get("is_local") or str(item.get("uri", "")).startswith(
                        "spotify:local:"):
                    reason = "local_file"
                elif item.get("type") == "episode":
                    reason = "episode"
                elif not item.get("id"):
                    reason = "missing_id"
                elif item["id"] in seen:
                    if not saved:
                        reason = "duplicate"
                    else:
                        position += 1
                        continue  # superseded
                if reason:
                    quarantine.append({**context, "reason": reason, "page": page, "position": position,
                                       "raw": json.dumps(entry)})
                else:
                    seen[item["id"]] = position
                    artists = item.get("artists") or []
                    album = item.get("album") or {}
                    silver.append({
                        "track_id": item["id"], "track_uri": item.get("uri"), "name": item.get("name"),
                        "artist_ids": [a.get("id") for a in artists], "artist_names": [a.get("name") for a in artists],
                        "primary_artist_id": artists[0].get("id") if artists else None,
                        "primary_artist_name": artists[0].get("name") if artists else None,
                        "album_id": album.get("id"), "album_name": album.get("name"),
                        "album_release_date": album.get("release_date"), "duration_ms": item.get("duration_ms"),
                        "explicit": item.get("explicit"), "added_at": entry.get("added_at"),
                        **{k: v for k, v in context.items() if k != "ds"}, "position": position,
                    })
                position += 1
    bronze_file.close()
    tracks = pd.DataFrame(silver)
    del silver
    tracks["added_at"] = pd.to_datetime(tracks["added_at"], utc=True, errors="coerce")
    tracks = tracks.sort_values(["source_key", "position"], kind="stable")
    tracks.to_parquet(_out(lake, "silver_tracks") / "part-00000.parquet", index=False)
    pd.DataFrame(quarantine).to_json(_out(lake, "quarantine_items") / "part-00000.json", orient="records", lines=True)
    return {"rows": len(tracks), "bronze": bronze, "quarantined": len(quarantine)}


# --------------------------------------------------------------------------------------------------
# enrich
# --------------------------------------------------------------------------------------------------


def enrich(lake: Lake, ds: str, previous_ds: str | None = None) -> dict:
    """``previous_ds`` is not needed (the cache as of ``ds`` is read); accepted for older callers."""
    from weekly_discovery.core.features import RULES

    silver = _read(lake, SILVER_TRACKS, ds)
    cache = _read(lake, AUDIO_FEATURES, filters=[("fetched_ds", "<", ds)])  # strictly before ds, as the job reads
    previous = (cache.sort_values(["track_id", "fetched_ds"], kind="stable")
                .drop_duplicates("track_id", keep="last").reset_index(drop=True))
    folder = lake.raw_features_partition("spotify", ds)
    manifest = read_json(folder / "_manifest.json")
    asked, answers = [], []
    for batch in manifest["batches"]:
        request = read_json(folder / batch["request"])
        ids = request["ids"]
        asked.extend((i, request["fetched_at"]) for i in ids)
        wanted = set(ids)
        for e in json.loads((folder / batch["body"]).read_bytes())["audio_features"]:
            if isinstance(e, dict) and e.get("id") in wanted:
                answers.append({"track_id": e["id"], **{f: e.get(f) for f in FEATURE_COLUMNS}})
    asked_df = pd.DataFrame(asked, columns=["track_id", "fetched_at"]).drop_duplicates("track_id")
    answered = pd.DataFrame(answers).drop_duplicates("track_id")
    resolved = asked_df.merge(answered, on="track_id", how="left", indicator=True)
    status = np.where(resolved.pop("_merge") == "both", "ok", "missing").astype(object)

    # the quality gates, vectorised: quarantine on a non-number, a fraction in a whole field, out of range
    failures = pd.Series([""] * len(resolved), index=resolved.index)
    for rule in RULES:
        value = pd.to_numeric(resolved[rule.field], errors="coerce").astype(float)
        present = resolved[rule.field].notna()
        finite = np.isfinite(value)
        whole = (value % 1 == 0) if rule.whole else pd.Series(True, index=value.index)
        unknown = value.isin(rule.unknown) if rule.unknown else pd.Series(False, index=value.index)
        in_range = pd.Series(True, index=value.index)
        if rule.low is not None:
            in_range &= value >= rule.low
        if rule.high is not None:
            in_range &= value <= rule.high
        bad = present & (~finite | ~whole | (~unknown & ~in_range))
        failures = failures.where(~bad, failures + f"{rule.field} out of range; ")
        resolved[rule.field] = value.where(present & finite & whole & ~unknown & in_range)
    quarantined = (status == "ok") & (failures != "").to_numpy()
    status[quarantined] = "quarantined"
    new_rows = resolved.assign(
        status=status, source=np.where(status == "ok", "spotify", None),
        fetched_at=pd.to_datetime(resolved["fetched_at"], utc=True), fetched_ds=ds,
        providers_asked="spotify,reccobeats", detail=np.where(quarantined, failures, None))
    for name in FEATURE_COLUMNS:
        new_rows.loc[new_rows["status"] != "ok", name] = np.nan
    new_rows = new_rows[previous.columns]
    snapshot = pd.concat([previous[~previous["track_id"].isin(new_rows["track_id"])], new_rows], ignore_index=True)
    snapshot = snapshot.sort_values("track_id", kind="stable")
    new_rows.sort_values("track_id", kind="stable").to_parquet(
        _out(lake, "audio_features") / "part-00000.parquet", index=False)  # the rows the job merges into the cache

    features = snapshot[["track_id", "status", "source", *FEATURE_COLUMNS]].rename(
        columns={"status": "feature_status", "source": "feature_source", "duration_ms": "_duration"})
    enriched = silver.merge(features, on="track_id", how="left")
    ok = enriched["feature_status"] == "ok"
    enriched["duration_ms"] = enriched["duration_ms"].fillna(enriched["_duration"].where(ok))
    for name in FEATURE_COLUMNS:
        if name != "duration_ms":
            enriched[name] = enriched[name].where(ok)
    enriched["feature_source"] = enriched["feature_source"].where(ok)
    enriched["feature_status"] = enriched["feature_status"].fillna("pending")
    enriched = enriched.drop(columns="_duration").sort_values(["source_key", "position", "track_id"], kind="stable")
    enriched.to_parquet(_out(lake, "tracks_enriched") / "part-00000.parquet", index=False)
    coverage = enriched.groupby(["role", "feature_status"])["track_id"].nunique()
    return {"rows": len(enriched), "snapshot": len(snapshot), "new": len(new_rows), "coverage_rows": len(coverage)}


# --------------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------------


def report(lake: Lake, ds: str) -> dict:
    from weekly_discovery.core.features import RATIO_FEATURES
    from weekly_discovery.report.analysis import BIN_EPSILON

    features = list(dict.fromkeys([*RATIO_FEATURES, *POST_FEATURES]))
    columns = ["track_id", "role", "source_key", "source_name", "primary_artist_id", "primary_artist_name",
               "feature_status", "feature_source", *features]
    tracks = _read(lake, TRACKS_ENRICHED, ds, columns)
    ok = tracks[tracks["feature_status"] == "ok"]
    liked = ok[ok["role"] == "liked"].drop_duplicates("track_id").assign(group="liked")
    references = ok[ok["role"] == "reference"].assign(group=lambda d: d["source_key"])
    groups = pd.concat([liked, references], ignore_index=True)
    n_bins = 10
    histograms = {}
    for name in RATIO_FEATURES:
        bins = np.clip(np.floor(groups[name].to_numpy(dtype=float) * n_bins + BIN_EPSILON), 0, n_bins - 1)
        counts = pd.DataFrame({"group": groups["group"], "bin": bins}).dropna().value_counts()
        histograms[name] = {f"{g}:{int(b)}": int(c) for (g, b), c in counts.items()}
    corr_rows = ok[ok["role"].isin(["liked", "disliked"])].drop_duplicates("track_id")[list(POST_FEATURES)].dropna()
    matrix = np.corrcoef(corr_rows.to_numpy(dtype=float), rowvar=False)
    liked_all = tracks[(tracks["role"] == "liked") & tracks["primary_artist_id"].notna()]
    artists = (liked_all.groupby("primary_artist_id").agg(name=("primary_artist_name", "max"),
                                                          tracks=("track_id", "nunique")))
    artists = artists[artists["tracks"] > 3].sort_values(["tracks", "name"], ascending=[False, True]).head(100)
    coverage = tracks.groupby(["role", "feature_status", "feature_source"], dropna=False)["track_id"].nunique()
    reference_playlists = (tracks[tracks["role"] == "reference"].groupby("source_key")["track_id"].nunique())
    out = {"ds": ds, "histograms": histograms, "correlation": matrix.tolist(),
           "top_artists": artists.reset_index().to_dict("records"),
           "coverage": {"|".join(map(str, k)): int(v) for k, v in coverage.items()},
           "reference_playlists": {k: int(v) for k, v in reference_playlists.items()}}
    (_out(lake, "report") / "report.json").write_text(json.dumps(out, indent=2, default=str))
    return {"rows": len(tracks), "correlation_rows": len(corr_rows), "artists": len(artists)}


# --------------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------------


def labelled_set(enriched: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    rows = enriched[enriched["role"].isin(["liked", "disliked"])]
    roles = rows.groupby("track_id")["role"].nunique()
    first = rows.sort_values(["track_id", "source_key", "position"], kind="stable").drop_duplicates("track_id")
    first = first.set_index("track_id").join(roles.rename("n_roles"))
    keep = (first["n_roles"] == 1) & (first["feature_status"] == "ok") & first[features].notna().all(axis=1)
    data = first[keep].reset_index()
    data["label"] = (data["role"] == "liked").astype(float)
    data["group_id"] = data["primary_artist_id"].fillna("track:" + data["track_id"])
    return data.sort_values("track_id", kind="stable").reset_index(drop=True)


def sklearn_grid(n_rows: int) -> list[tuple[str, object]]:
    """The weekly grid (weekly_discovery.recommend.model.families.default_grid) in scikit-learn terms."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def weighted_lr(reg: float):
        penalty = {"penalty": None} if reg == 0 else {"C": 1.0 / (reg * n_rows)}  # Spark regParam -> C
        return make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=200, **penalty))

    return [
        ("post_lr", LogisticRegression(penalty=None, max_iter=500)),
        ("weighted_lr(regParam=0.0)", weighted_lr(0.0)),
        ("weighted_lr(regParam=0.05)", weighted_lr(0.05)),
        ("random_forest(100, depth 10)", RandomForestClassifier(n_estimators=100, max_depth=10, max_features="sqrt",
                                                                class_weight="balanced", n_jobs=2, random_state=SEED)),
        ("random_forest(150, depth 16)", RandomForestClassifier(n_estimators=150, max_depth=16, max_features="sqrt",
                                                                class_weight="balanced", n_jobs=2, random_state=SEED)),
        ("gbt(50, depth 3)", HistGradientBoostingClassifier(max_iter=50, max_depth=3, learning_rate=0.1, max_bins=32,
                                                            class_weight="balanced", early_stopping=False,
                                                            random_state=SEED)),
        ("gbt(50, depth 5)", HistGradientBoostingClassifier(max_iter=50, max_depth=5, learning_rate=0.05,
                                                            max_bins=32, class_weight="balanced",
                                                            early_stopping=False, random_state=SEED)),
    ]


def train(lake: Lake, ds: str) -> dict:
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score

    from weekly_discovery.recommend.training.folds import python_folds

    features = list(POST_FEATURES)
    enriched = _read(lake, TRACKS_ENRICHED, ds,
                     ["track_id", "role", "source_key", "position", "feature_status", "primary_artist_id", *features])
    data = labelled_set(enriched, features)
    folds = data["group_id"].map(python_folds(data["group_id"], FOLDS, SEED)).to_numpy()
    x, y = data[features].to_numpy(dtype=float), data["label"].to_numpy()
    results = []
    for name, model in sklearn_grid(len(data)):
        started = time.monotonic()
        scores = np.zeros(len(y))
        for fold in range(FOLDS):
            test = folds == fold
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = clone(model).fit(x[~test], y[~test])
            scores[test] = fitted.predict_proba(x[test])[:, 1]
        results.append((roc_auc_score(y, scores), name, model, time.monotonic() - started))
    best = max(results, key=lambda r: r[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        champion = clone(best[2]).fit(x, y)
        clone(results[0][2]).fit(x, y)  # the post's model is refit and stored too
    with open(_out(lake, "model") / "model.pkl", "wb") as fh:
        pickle.dump({"features": features, "model": champion, "name": best[1]}, fh)
    return {"rows": len(data), "positives": int(y.sum()), "selected": best[1], "roc_auc": round(best[0], 4),
            "seconds_per_candidate": {r[1]: round(r[3], 1) for r in results}}


# --------------------------------------------------------------------------------------------------
# score
# --------------------------------------------------------------------------------------------------


def score(lake: Lake, ds: str) -> dict:
    with open(Path(lake.root, "baseline", "model", "model.pkl"), "rb") as fh:
        stored = pickle.load(fh)
    features = stored["features"]
    columns = ["track_id", "track_uri", "name", "artist_names", "primary_artist_id", "primary_artist_name", "role",
               "source_key", "source_id", "source_name", "position", "feature_status", *features]
    enriched = _read(lake, TRACKS_ENRICHED, ds, columns)
    candidates = enriched[enriched["role"] == "candidates"].copy()
    scorable = (candidates["feature_status"] == "ok") & candidates[features].notna().all(axis=1)
    candidates["score_status"] = np.where(scorable, "scored", np.where(
        candidates["feature_status"] != "ok", "features_" + candidates["feature_status"].fillna("unknown"),
        "null_feature"))
    candidates["probability"] = np.nan
    if scorable.any():
        candidates.loc[scorable, "probability"] = stored["model"].predict_proba(
            candidates.loc[scorable, features].to_numpy(dtype=float))[:, 1]
    candidates["recommended"] = candidates["probability"] >= THRESHOLD
    candidates.drop(columns=[*features, "role"]).sort_values(["source_key", "position"], kind="stable").to_parquet(
        _out(lake, "scores") / "part-00000.parquet", index=False)
    known = set(enriched.loc[enriched["role"].isin(["liked", "disliked"]), "track_id"])
    fresh = candidates[candidates["recommended"] & ~candidates["track_id"].isin(known)]
    fresh = fresh.sort_values(["track_id", "source_key", "position"], kind="stable").drop_duplicates("track_id")
    fresh = fresh.assign(artist=fresh["primary_artist_id"].fillna(fresh["track_id"]))
    fresh = fresh.sort_values(["probability", "track_id"], ascending=[False, True], kind="stable")
    capped = fresh[fresh.groupby("artist").cumcount() < MAX_PER_ARTIST]
    top = capped.head(TOP_N).assign(rank=lambda d: np.arange(1, len(d) + 1))
    top.to_parquet(_out(lake, "recommendations") / "part-00000.parquet", index=False)
    return {"rows": len(candidates), "scored": int(scorable.sum()), "recommended": len(top)}


JOBS = {"normalize": normalize, "enrich": enrich, "report": report, "train": train, "score": score}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("job", choices=sorted(JOBS))
    parser.add_argument("--lake", required=True)
    parser.add_argument("--ds", required=True)
    parser.add_argument("--previous-ds", help="enrich: ignored (the feature cache as of --ds is read); kept for "
                                              "older callers")
    args = parser.parse_args(argv)
    started = time.monotonic()
    lake = Lake(args.lake)
    extra = (args.previous_ds,) if args.job == "enrich" else ()
    result = JOBS[args.job](lake, args.ds, *extra)
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"job": args.job, "seconds": round(seconds, 2), "ru_maxrss_mb": round(peak, 1), **result},
                     default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
