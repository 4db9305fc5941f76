# salesbot's image: `salesbot serve` as a non-root user, dependencies from the pinned lock.
# Build: docker build -t salesbot .   (or podman build); run: see docs/operations.md.

# Stage 1: a virtual environment with the locked dependencies and salesbot itself.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements.lock ./
RUN python -m venv /opt/salesbot \
 && /opt/salesbot/bin/pip install --require-virtualenv -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY rules ./rules
COPY insights ./insights
COPY storage ./storage
COPY demo ./demo
COPY connectors ./connectors
# The language catalogues are compiled (.mo), never committed; then --no-deps: everything
# came from the lock above, nothing is resolved again here.
RUN /opt/salesbot/bin/pybabel compile -D salesbot -d handlers/i18n/locale \
 && /opt/salesbot/bin/pip install --no-deps . \
 && /opt/salesbot/bin/pip uninstall --yes pip

# Stage 2: only the interpreter and the environment; no compiler, no pip, no sources.
FROM python:3.11-slim
RUN useradd --system --create-home --home-dir /home/salesbot --uid 10001 salesbot \
 && mkdir /data && chown salesbot /data
COPY --from=build /opt/salesbot /opt/salesbot
ENV PATH=/opt/salesbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SALESBOT_HOST=0.0.0.0 \
    SALESBOT_PORT=3000 \
    SALESBOT_DATA_DIR=/data \
    SALESBOT_LOG_FORMAT=json
USER salesbot
WORKDIR /home/salesbot
EXPOSE 3000
# /health answers on SALESBOT_OPS_PORT if set (Socket Mode), else on SALESBOT_PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('SALESBOT_OPS_PORT') or os.environ.get('SALESBOT_PORT', '3000'); urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4)"]
# SIGTERM (docker stop, Kubernetes) stops it gracefully within SALESBOT_SHUTDOWN_SECONDS.
STOPSIGNAL SIGTERM
CMD ["salesbot", "serve"]
