# kpibot: one image, one process model (`kpibot db upgrade` then `kpibot run`).
# The same steps as `make run`: install the project (editable) into a venv, upgrade the
# database, run. Build from the repository root:  docker build -t kpibot .
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DATA_DIR=/data \
    DATABASE_URL=sqlite:////data/kpibot.db \
    LOG_FORMAT=json \
    PORT=8080

# Chinese glyphs for the charts; a user without a login shell; the venv.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-zenhei \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin kpibot \
 && python -m venv $VIRTUAL_ENV \
 && mkdir -p /data && chown kpibot /data

WORKDIR /app
# Dependencies in their own layer: only pyproject.toml (and the README it names) first,
# with empty packages, so a code change does not reinstall pandas and friends.
COPY pyproject.toml README.md ./
RUN mkdir -p bot commands scoring storage \
 && touch bot/__init__.py commands/__init__.py scoring/__init__.py storage/__init__.py \
 && pip install . && pip uninstall -y kpibot \
 && rm -rf bot commands scoring storage build *.egg-info

COPY bot ./bot
COPY commands ./commands
COPY scoring ./scoring
COPY storage ./storage
COPY schemes ./schemes
RUN pip install --no-deps -e . && python -c "import bot.cli, storage.db"

USER kpibot
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=2)" || exit 1
# exec: kpibot is PID 1 and gets SIGTERM itself (graceful shutdown).
CMD ["sh", "-c", "kpibot db upgrade && exec kpibot run"]
