#!/usr/bin/env bash
# PySpark 4.2 needs a Java 17 or 21 runtime; say exactly what to install when it is missing.
set -euo pipefail
if ! command -v java >/dev/null 2>&1 && [[ -z "${JAVA_HOME:-}" ]]; then
  echo "Java is missing: Spark needs a Java 17 or 21 runtime." >&2
  echo "  Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless" >&2
  echo "  macOS:         brew install openjdk@17" >&2
  exit 1
fi
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
version=$("$java_bin" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
major=${version%%.*}
if [[ "$major" != "17" && "$major" != "21" ]]; then
  echo "Found Java $version, but Spark 4.2 needs Java 17 or 21." >&2
  echo "  Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless (then set JAVA_HOME)" >&2
  echo "  macOS:         brew install openjdk@17" >&2
  exit 1
fi
