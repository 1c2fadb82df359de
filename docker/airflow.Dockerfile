# Airflow 3.3 with Weekly Discovery installed: the pinned requirements, the `weekly_discovery` package
# and a Java 17 runtime for spark-submit. Built by docker-compose.yml (`docker compose build`), from the
# repository root as context (docker/airflow.Dockerfile.dockerignore keeps the context small).
#
# Python versions must line up. PySpark refuses to run Python code on executors whose Python minor
# version differs from the driver's (PYTHON_VERSION_MISMATCH), and in client mode the driver runs here,
# in the Airflow container that runs the task. The project needs Python >= 3.11 (tomllib), while the
# official apache/spark:4.2.0 images are Ubuntu 22.04 with Python 3.10. So: Airflow on Python 3.11, and
# the Spark worker image (docker/spark-worker.Dockerfile) adds Ubuntu's python3.11. Change both together.
#
# Java: the JRE is copied from the same apache/spark image the cluster runs (Eclipse Temurin 17), so
# the driver and the executors run one Java, whatever Debian release the Airflow image is based on.

ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
ARG SPARK_IMAGE=apache/spark:4.2.0-scala2.13-java17-ubuntu

FROM ${SPARK_IMAGE} AS spark

FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}
ARG AIRFLOW_VERSION

USER root
COPY --from=spark /opt/java/openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk \
    PATH="/opt/java/openjdk/bin:${PATH}"
# pip builds the project in place: the folder must belong to the user that runs pip.
RUN install -d -o airflow -g 0 /opt/weekly-discovery

USER airflow
# The project's pinned set (requirements.txt pins apache-airflow itself, PySpark 4.2.0 = the cluster's
# Spark, the Spark provider, spotipy, pyarrow...). Repeating the image's Airflow version keeps pip from
# moving it.
COPY --chown=airflow:0 requirements.txt /opt/weekly-discovery/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/weekly-discovery/requirements.txt

# The package itself (DAGs, jobs and plugins are mounted by docker-compose.yml, not baked in), and Delta Lake's
# jars in pyspark's jars/ (weekly_discovery/spark/jars.py: the pinned versions, checked by SHA-256).
COPY --chown=airflow:0 pyproject.toml README.md /opt/weekly-discovery/
COPY --chown=airflow:0 weekly_discovery /opt/weekly-discovery/weekly_discovery
RUN pip install --no-cache-dir --no-deps /opt/weekly-discovery \
    && WEEKLY_DISCOVERY_JARS_DIR=/tmp/jars python -m weekly_discovery.spark.jars delta --install && rm -rf /tmp/jars \
    && python -c "import os, pyspark; print(os.path.dirname(pyspark.__file__))" > /tmp/spark-home \
    && java -version

# spark-submit from the pip package: a fixed SPARK_HOME, whichever site-packages pip used.
USER root
RUN ln -sfn "$(cat /tmp/spark-home)" /opt/pyspark && rm /tmp/spark-home \
    && install -d -o airflow -g 0 -m 2775 /srv/weekly-discovery/lake
COPY docker/airflow-init.sh docker/check-secrets.py /opt/weekly-discovery/
RUN chmod 0755 /opt/weekly-discovery/airflow-init.sh && chmod 0644 /opt/weekly-discovery/check-secrets.py
USER airflow
ENV SPARK_HOME=/opt/pyspark
