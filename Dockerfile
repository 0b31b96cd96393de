# syntax=docker/dockerfile:1
# One image for every Sonrisa process; docker-compose.yml picks the `clinic` subcommand
# (migrate, api, relay, project, ...). Build: docker build -t sonrisa .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# eventsourcing[postgres] uses pure-Python psycopg 3, which loads libpq at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin clinic

# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when they change.
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

# Where the API keeps access-log entries while PostgreSQL is away (ADR 26); a volume in compose.
RUN install -d -o clinic -g clinic -m 0700 /var/lib/sonrisa /var/lib/sonrisa/access-log-held

USER clinic
EXPOSE 8000
ENTRYPOINT ["clinic"]
CMD ["--help"]
