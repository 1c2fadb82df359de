# A Spark 4.2.0 standalone worker whose executors run Python 3.11, the minor version of the driver
# (the Airflow image, docker/airflow.Dockerfile). The official apache/spark:4.2.0 images are Ubuntu 22.04
# (eclipse-temurin:17-jammy), whose python3 is 3.10: PySpark would refuse it with PYTHON_VERSION_MISMATCH
# as soon as a job runs Python on an executor. Ubuntu 22.04 ships python3.11 in its universe component;
# it becomes `python3` here, so executors get 3.11 whatever name the driver asks for.
# pyspark itself comes from the Spark distribution ($SPARK_HOME/python/lib/pyspark.zip), the job's own
# code from the zip the driver ships with --py-files (weekly_discovery/spark_submit.py).

ARG SPARK_IMAGE=apache/spark:4.2.0-scala2.13-java17-ubuntu
FROM ${SPARK_IMAGE}

USER root
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends python3.11; \
    rm -rf /var/lib/apt/lists/*; \
    ln -sfn /usr/bin/python3.11 /usr/local/bin/python3; \
    python3 --version | grep -q '^Python 3\.11\.'
ENV PYSPARK_PYTHON=python3.11
USER spark
