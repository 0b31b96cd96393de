# syntax=docker/dockerfile:1
# One image for every Sonrisa process: the API (which also serves the web app), the relay, the
# projectors, the workers and the one-shot `clinic migrate`. docker-compose.yml and the
# Kubernetes manifests pick the `clinic` subcommand. Build: docker build -t sonrisa .
#
# Two stages: Node builds the web app; the runtime image is Python only and carries the built
# files, never Node, npm or the app's node_modules.
#
# Runtime contract (docker-compose.yml, deploy/k8s):
# - runs as uid/gid 10001 (numeric, so Kubernetes' runAsNonRoot can check it without /etc/passwd);
# - works with a read-only root filesystem: the only writes go to /tmp (a tmpfs) and, in the
#   API, to /var/lib/sonrisa/access-log-held (a volume); nothing writes bytecode at run time;
# - secrets only from the environment (CLINIC_*): none is baked into the image.

# ---------------------------------------------------------------------------------------------
# Stage 1: the web app (frontend/) -> /web/dist
# ---------------------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS web

# npm and Vite run as the image's unprivileged `node` user: a dependency's build-time code
# never runs as root, even in a stage that is thrown away.
RUN install -d -o node -g node /web
WORKDIR /web
USER node

# Dependencies first, from the lockfile alone: this layer is rebuilt only when they change.
# --ignore-scripts: no package's install script runs; Vite and Rollup need none (their native
# parts are optional dependencies, chosen by platform).
COPY --chown=node:node frontend/package.json frontend/package-lock.json ./
RUN --mount=type=cache,target=/home/node/.npm,uid=1000,gid=1000 \
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

# `vite build` only: the type check (tsc) and the tests run in CI (`make test`), not here.
COPY --chown=node:node frontend/index.html frontend/vite.config.ts frontend/tsconfig.json ./
COPY --chown=node:node frontend/src ./src
RUN npx --no-install vite build --logLevel warn

# ---------------------------------------------------------------------------------------------
# Stage 2: the runtime image
# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

LABEL org.opencontainers.image.title="sonrisa" \
      org.opencontainers.image.description="Sonrisa dental clinic platform: API, relay, projectors and workers (entrypoint: clinic)"

# pip's cache is a BuildKit cache mount (below), so no wheel stays in a layer.
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# eventsourcing[postgres] uses pure-Python psycopg 3, which loads libpq at run time.
# The `clinic` user and group have a fixed numeric id (10001), no home and no shell.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 clinic \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin clinic

# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when they change.
# pip compiles every module to bytecode as it installs, so nothing needs compiling (writing)
# at run time on the read-only root filesystem.
COPY pyproject.toml /tmp/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt /tmp/pyproject.toml

# Then the project itself; its dependencies are already satisfied. The source is bind-mounted
# (rw: setuptools writes build/ and *.egg-info there, and those writes are thrown away), so no
# copy of it stays in the image. `pip install /src` is `pip install .` run from the context.
RUN --mount=type=bind,source=.,target=/src,rw \
    --mount=type=cache,target=/root/.cache/pip \
    pip install /src

# The built web app, owned by root and only readable by the `clinic` user. Settings.web_root
# defaults to <project>/frontend/dist, which does not exist in site-packages: CLINIC_WEB_ROOT
# below names this folder instead (api/web.py serves it at `/`).
COPY --from=web --chown=root:root /web/dist /opt/sonrisa/web

# Where the API keeps access-log entries while PostgreSQL is away (ADR 26). It must be a volume
# (compose: `access-log-held`; Kubernetes: a PersistentVolumeClaim): the root filesystem is
# read-only and the entries must outlive the container. A new named volume copies this
# folder's owner and mode (clinic, 0700).
RUN install -d -o 10001 -g 10001 -m 0700 /var/lib/sonrisa /var/lib/sonrisa/access-log-held
VOLUME ["/var/lib/sonrisa/access-log-held"]

# Container defaults, each a field of infra.settings.Settings (compose and Kubernetes may set
# them again; secrets and URLs never have a default here):
# - CLINIC_HOST / CLINIC_METRICS_HOST 0.0.0.0: a container is reached on its own address, not
#   loopback. The metrics port (9100) is never published; only the scraper's network reaches it.
# - PYTHONDONTWRITEBYTECODE: the root filesystem is read-only; every module was compiled above.
# Prometheus' multiprocess directory (PROMETHEUS_MULTIPROC_DIR) is only used by `clinic up`,
# which runs every part in one container; the image runs one part per container, so it is unset.
ENV PYTHONDONTWRITEBYTECODE=1 \
    CLINIC_WEB_ROOT=/opt/sonrisa/web \
    CLINIC_HOST=0.0.0.0 \
    CLINIC_PORT=8000 \
    CLINIC_METRICS_HOST=0.0.0.0 \
    CLINIC_METRICS_PORT=9100 \
    CLINIC_ACCESS_LOG_HELD_DIR=/var/lib/sonrisa/access-log-held

USER 10001:10001

# 8000: the API (`clinic api`); 9100: Prometheus metrics, served by every process.
EXPOSE 8000 9100

# Liveness of the API: GET /healthz with Python's urllib (the image has no curl); urlopen
# raises, so the check fails, on any answer other than 2xx or on no answer within 3 s.
# Processes without HTTP (relay, projectors, workers) override this in docker-compose.yml
# with a GET on http://127.0.0.1:9100/metrics; `clinic migrate` exits and disables it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CLINIC_PORT', '8000'), timeout=3)"]

ENTRYPOINT ["clinic"]
CMD ["--help"]
