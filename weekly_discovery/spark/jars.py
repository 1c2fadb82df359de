"""The jars Spark needs beyond pyspark's own, fetched once from Maven Central into a cache this project owns.

- ``delta``: Delta Lake for Spark 4.2 (``io.delta:delta-spark_4.2_2.13`` and ``io.delta:delta-storage``).
  ``make setup`` copies them into the installed pyspark's ``jars/`` folder, so every entry point (spark-submit,
  the in-process sessions of the tests, ``spark-sql``) has them without a flag, and no job downloads at run
  time. (Ivy's ``--packages`` would also bring Delta's optional dependencies: an older Hadoop client and
  Jackson beside Spark's own.)
- ``s3``: Hadoop's S3A connector, ``org.apache.hadoop:hadoop-aws`` at the Hadoop version inside pyspark 4.2.0
  (3.5.0), and the AWS SDK bundle (686 MB) and analytics accelerator its POM names. Only a lake on S3 needs them: ``make test`` fetches them
  for its bucket tests; a user points ``spark.jars`` at them (docs/deploy.md) or uses ``spark.jars.packages``.

The cache is ``$WEEKLY_DISCOVERY_JARS_DIR``, else ``$XDG_CACHE_HOME/weekly-discovery/jars`` (``~/.cache/...``),
so a new venv does not download again. Every file is checked against its SHA-256 below before it is used.

    python -m weekly_discovery.spark.jars delta --install   # fetch, then copy into pyspark's jars/
    python -m weekly_discovery.spark.jars s3                # fetch; prints the paths for spark.jars
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from weekly_discovery.core.errors import UserError

CACHE_ENV = "WEEKLY_DISCOVERY_JARS_DIR"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


@dataclass(frozen=True)
class Artifact:
    group: str
    name: str
    version: str
    sha256: str

    @property
    def file_name(self) -> str:
        return f"{self.name}-{self.version}.jar"

    @property
    def url(self) -> str:
        return f"{MAVEN_CENTRAL}/{self.group.replace('.', '/')}/{self.name}/{self.version}/{self.file_name}"


SETS: dict[str, tuple[Artifact, ...]] = {
    "delta": (
        Artifact("io.delta", "delta-spark_4.2_2.13", "4.4.0",
                 "27d4fd8b1f879535c573ed1c718177d6a27f24d3e626ba02e216369725721ead"),
        Artifact("io.delta", "delta-storage", "4.4.0",
                 "c46735481fa8e326b0957be02b4420cbcab4b325bb08009b7f2045a95133f1cc"),
    ),
    "s3": (
        Artifact("org.apache.hadoop", "hadoop-aws", "3.5.0",
                 "66bd9eefb938b1a1657487324b63c13df2d8b17164a1dd24e0ef37b905bc5baa"),
        Artifact("software.amazon.awssdk", "bundle", "2.35.4",
                 "db4b55f24ad1b4e70f17eb1717a4de76a8dadc5a27d764be7c44ff67b2c1c677"),
        # hadoop-aws 3.5.0 opens files through it (a compile dependency of its POM)
        Artifact("software.amazon.s3.analyticsaccelerator", "analyticsaccelerator-s3", "1.3.1",
                 "4959a9747cbb479c73c3ffbcd479bee5b014f8b2880994585a8693fb9d24675e"),
    ),
}


class JarError(UserError, RuntimeError):
    """A jar could not be fetched, or its bytes are not the pinned ones (the message names the fix)."""


def cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "weekly-discovery", "jars")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(name: str, cache: Path | None = None) -> list[Path]:
    """The set's jars in the cache, downloading those not there yet (checked against their SHA-256)."""
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for artifact in SETS[name]:
        path = cache / artifact.file_name
        if not path.is_file() or _sha256(path) != artifact.sha256:
            _download(artifact, path)
        paths.append(path)
    return paths


def _download(artifact: Artifact, path: Path) -> None:
    print(f"fetching {artifact.url} (once, into {path.parent})", file=sys.stderr)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{artifact.file_name}.")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(artifact.url, timeout=60) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        found = _sha256(Path(partial))
        if found != artifact.sha256:
            raise JarError(f"{artifact.url}: SHA-256 {found}, expected {artifact.sha256}; not used. "
                           "Check the proxy or mirror between this machine and Maven Central, then run again")
        os.replace(partial, path)
    except OSError as exc:
        raise JarError(f"could not fetch {artifact.url}: {exc}; check the network, or put the file in "
                       f"{path.parent} (${CACHE_ENV}) yourself") from exc
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def spark_jars_dir() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def install(paths: list[Path], target: Path | None = None) -> list[Path]:
    """Copy the jars into pyspark's ``jars/`` (or ``target``) unless the same bytes are there already."""
    target = target or spark_jars_dir()
    installed = []
    for path in paths:
        dest = target / path.name
        if not dest.is_file() or dest.stat().st_size != path.stat().st_size:
            shutil.copyfile(path, dest)
        installed.append(dest)
    return installed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("set", choices=sorted(SETS))
    parser.add_argument("--install", action="store_true", help="copy them into the installed pyspark's jars/")
    args = parser.parse_args(argv)
    try:
        paths = fetch(args.set)
        if args.install:
            paths = install(paths)
    except JarError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(",".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
