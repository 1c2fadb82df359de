#!/usr/bin/env bash
# One-shot set-up run by the `airflow-init` service of docker-compose.yml, as root, before any other
# Airflow service starts: the secrets check, folder ownership, the metadata database, the admin login.
# Safe to run again.
set -euo pipefail
# `${VAR:?}` in docker-compose.yml only rejects empty values: refuse "change-me" placeholders and weak
# keys before anything starts (the rules and minimum lengths are in the script).
python /opt/weekly-discovery/check-secrets.py

: "${AIRFLOW_UID:?AIRFLOW_UID is not set: put AIRFLOW_UID=\$(id -u) in .env}"
: "${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD is not set in .env}"
lake="${WEEKLY_DISCOVERY_LAKE:-/srv/weekly-discovery/lake}"
passwords="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-/opt/airflow/config/simple_auth_manager_passwords.json}"

echo "folders: logs, config and the lake ($lake) owned by ${AIRFLOW_UID}:0, group-writable"
mkdir -p /opt/airflow/logs /opt/airflow/config "$lake"
# The Spark worker runs as the same uid (see docker-compose.yml): the driver (in the scheduler) and
# the executors (in the worker) write and rename files in the same lake folders.
chown -R "${AIRFLOW_UID}:0" /opt/airflow/logs /opt/airflow/config "$lake"
chmod -R g+rwX "$lake"
find "$lake" -type d -exec chmod g+s {} +

echo "admin login: user 'admin', password from AIRFLOW_ADMIN_PASSWORD (simple auth manager)"
install -m 600 -o "${AIRFLOW_UID}" -g 0 /dev/null "$passwords"
python - "$passwords" <<'PY'
import json, os, sys
with open(sys.argv[1], "w") as fh:
    json.dump({"admin": os.environ["AIRFLOW_ADMIN_PASSWORD"]}, fh)
PY

echo "metadata database: airflow db migrate"
# /entrypoint waits for PostgreSQL to accept connections before running the command.
exec /entrypoint airflow db migrate
