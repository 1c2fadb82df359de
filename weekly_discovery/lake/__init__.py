"""The data lake: the one import of stage code (``from weekly_discovery.lake import Lake, SILVER_TRACKS``).

:mod:`~weekly_discovery.lake.layout` owns every table, folder and file name and the partition
protocol; :mod:`~weekly_discovery.lake.storage` moves the bytes (a local folder or a bucket). A stage
needs both and should not have to know which module holds what, so the names stages use are
re-exported here. Lake internals (object-store commits, credentials, Spark settings) stay in their
modules.
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
    PUBLISH_RECORD,
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
    PartitionWriter,
    Table,
    batch_file_name,
    check_ds,
    check_raw_page,
    commit_directory,
    list_partitions,
    parse_batch_file_name,
    partition_rows,
    read_json,
    source_key,
)
from weekly_discovery.lake.storage import (
    ObjectPath,
    arrow_source,
    json_bytes,
    remove_partition,
    rmtree,
    tree_bytes,
    write_atomic,
    write_json,
)

__all__ = [
    "ALBUM_TRACKS", "AUDIO_FEATURES", "BATCH_BODY_PATTERN", "BATCH_REQUEST_PATTERN", "BRONZE_ITEMS", "CANDIDATES",
    "CHAMPION", "LIKE_MODEL",
    "MANIFEST", "METRICS", "MODEL_CARD", "PICKS", "PUBLISHED", "PUBLISH_RECORD", "QUARANTINE_FEATURES",
    "QUARANTINE_ITEMS",
    "RAW_PAGE_RE", "RECOMMENDATIONS", "REMOVED_PICKS", "REPORTS", "SCORES", "SILVER_TRACKS", "TABLES", "TRACKS_ENRICHED",
    "BatchFile", "Lake", "LakeError", "ObjectPath", "PartitionWriter", "Table", "arrow_source", "batch_file_name",
    "check_ds", "check_raw_page", "commit_directory", "json_bytes", "list_partitions", "parse_batch_file_name", "partition_rows",
    "read_json", "remove_partition", "rmtree", "source_key", "tree_bytes", "write_atomic", "write_json",
]
