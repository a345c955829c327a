# kpibot: one image, one process model (`kpibot db upgrade` then `kpibot run`).
# The same steps as `make run`: install the project into a venv, upgrade the database, run.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    KPIBOT_DATA_DIR=/data \
    DATA_DIR=/data \
    PORT=8080

RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-zenhei curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 kpibot \
 && python -m venv $VIRTUAL_ENV \
 && mkdir -p /data && chown kpibot /data

WORKDIR /app
# Dependencies in their own layer: only pyproject.toml is copied first.
COPY pyproject.toml README.md ./
RUN mkdir -p bot commands scoring storage \
 && touch bot/__init__.py commands/__init__.py scoring/__init__.py storage/__init__.py \
 && pip install . && pip uninstall -y kpibot

COPY bot ./bot
COPY commands ./commands
COPY scoring ./scoring
COPY storage ./storage
COPY schemes ./schemes
RUN pip install --no-deps .

USER kpibot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD curl -fsS "http://127.0.0.1:${PORT}/healthz" || exit 1
CMD ["sh", "-c", "kpibot db upgrade && exec kpibot run"]
