# syntax=docker/dockerfile:1.7
# A Spark 4.2.0 standalone worker whose executors run Python 3.11, the minor version of the driver
# (the Airflow image, docker/airflow.Dockerfile). The official apache/spark:4.2.0 images are Ubuntu 22.04
# (eclipse-temurin:17-jammy), whose python3 is 3.10: PySpark would refuse it with PYTHON_VERSION_MISMATCH
# as soon as a job runs Python on an executor. Ubuntu 22.04 ships python3.11 in its universe component;
# it becomes `python3` here, so executors get 3.11 whatever name the driver asks for.
# pyspark itself comes from the Spark distribution ($SPARK_HOME/python/lib/pyspark.zip), the job's own
# code from the zip the driver ships with --py-files (weekly_discovery/spark_submit.py).

ARG SPARK_IMAGE=apache/spark:4.2.0-scala2.13-java17-ubuntu
FROM ${SPARK_IMAGE}

#
# Executors also run the weekly model's Python: the cross-validation grid (scikit-learn fits in
# mapInPandas tasks) and the scoring of a scikit-learn champion (a pandas UDF) need numpy, pandas,
# pyarrow, scikit-learn and skops at the versions of requirements.txt (a test keeps them equal). They go
# into a virtualenv whose bin/ is first on PATH, so `python3.11` and `python3` are its interpreter.
ARG EXECUTOR_PACKAGES="numpy==2.4.6 pandas==2.3.3 pyarrow==26.0.1 scikit-learn==1.9.1 skops==0.16.0"

USER root
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends python3.11 python3.11-venv; \
    rm -rf /var/lib/apt/lists/*; \
    python3.11 -m venv /opt/executor-python; \
    /opt/executor-python/bin/pip install --no-cache-dir ${EXECUTOR_PACKAGES}; \
    /opt/executor-python/bin/python3 --version | grep -q '^Python 3\.11\.'
# Delta Lake's jars, the ones weekly_discovery/spark/jars.py pins (a test keeps them equal): executors run
# Delta's code when they write a table.
ADD --checksum=sha256:27d4fd8b1f879535c573ed1c718177d6a27f24d3e626ba02e216369725721ead --chmod=0644 \
    https://repo1.maven.org/maven2/io/delta/delta-spark_4.2_2.13/4.4.0/delta-spark_4.2_2.13-4.4.0.jar /opt/spark/jars/
ADD --checksum=sha256:c46735481fa8e326b0957be02b4420cbcab4b325bb08009b7f2045a95133f1cc --chmod=0644 \
    https://repo1.maven.org/maven2/io/delta/delta-storage/4.4.0/delta-storage-4.4.0.jar /opt/spark/jars/
ENV PATH=/opt/executor-python/bin:${PATH} \
    PYSPARK_PYTHON=python3.11
USER spark
