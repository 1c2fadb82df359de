"""The data lake: the one import of stage code (``from weekly_discovery.lake import Lake, SILVER_TRACKS``).

:mod:`~weekly_discovery.lake.layout` owns every table, folder and file name;
:mod:`~weekly_discovery.lake.storage` moves the bytes (a local folder or a bucket);
:mod:`~weekly_discovery.lake.delta` reads and writes the Delta tables (``from weekly_discovery.lake import
delta``). A stage should not have to know which module holds what, so the names stages use are re-exported
here. Lake internals (credentials, Spark settings) stay in their modules.
"""

from weekly_discovery.lake.layout import (
    ALBUM_TRACKS,
    AUDIO_FEATURES,
    BATCH_BODY_PATTERN,
    BATCH_REQUEST_PATTERN,
    BRONZE_ITEMS,
    CANDIDATES,
    CHAMPION,
    LIKE_MODEL,
    MANIFEST,
    METRICS,
    MODEL_CARD,
    PICKS,
    PUBLISHED,
    QUARANTINE_FEATURES,
    QUARANTINE_ITEMS,
    RAW_PAGE_RE,
    RECOMMENDATIONS,
    REMOVED_PICKS,
    REPORTS,
    SCORES,
    SILVER_TRACKS,
    TABLES,
    TRACKS_ENRICHED,
    BatchFile,
    Lake,
    LakeError,
    PartitionDate,
    Table,
    batch_file_name,
    check_raw_page,
    parse_batch_file_name,
    parse_ds,
    read_json,
    source_key,
)
from weekly_discovery.lake.storage import (
    ObjectPath,
    arrow_source,
    json_bytes,
    rmtree,
    tree_bytes,
    write_atomic,
    write_json,
)

__all__ = [
    "ALBUM_TRACKS", "AUDIO_FEATURES", "BATCH_BODY_PATTERN", "BATCH_REQUEST_PATTERN", "BRONZE_ITEMS", "CANDIDATES",
    "CHAMPION", "LIKE_MODEL",
    "MANIFEST", "METRICS", "MODEL_CARD", "PICKS", "PUBLISHED", "QUARANTINE_FEATURES",
    "QUARANTINE_ITEMS",
    "RAW_PAGE_RE", "RECOMMENDATIONS", "REMOVED_PICKS", "REPORTS", "SCORES", "SILVER_TRACKS", "TABLES", "TRACKS_ENRICHED",
    "BatchFile", "Lake", "LakeError", "ObjectPath", "Table", "arrow_source", "batch_file_name",
    "PartitionDate", "check_raw_page", "json_bytes", "parse_batch_file_name", "parse_ds", "partition_rows",
    "read_json", "rmtree", "source_key", "tree_bytes", "write_atomic", "write_json",
]
