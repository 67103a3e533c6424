# syntax=docker/dockerfile:1
# Build: docker build -t smps .
# Keys:  docker run --rm -v smps-keys:/keys smps smps keys generate     (once; `smps keys rotate` later)
# Run:   docker run -p 8000:8000 -e SMPS_DATABASE_URL=postgresql://user:pass@db/smps \
#          -v smps-keys:/keys -v smps-files:/data/files smps
# Production mode: `smps serve` refuses to start (exit 2, one line per reason) without receipt signing keys
# in /keys, with development keys, SQLite on a relative path or webhooks allowed to private addresses.
# The /keys volume holds the private receipt keys (PEM, 0600): back it up, mount it only here.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
# uv at the version scripts/setup.sh pins; every other package comes from uv.lock (--locked: no new resolution).
RUN pip install "uv==0.13.9"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY app ./app
RUN uv sync --locked --no-dev --no-editable

FROM python:3.11-slim-bookworm AS runtime
# CJK fonts for the printable application form (form.pdf): AR PL UMing (serif body), WenQuanYi Micro Hei (titles),
# pinned at bookworm's versions (hadolint DL3008).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-arphic-uming=0.2.20080216.2-11 fonts-wqy-microhei=0.2.0-beta-3.1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin smps \
 && mkdir -p /data/files /keys && chown -R smps /data /keys && chmod 700 /keys
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SMPS_DATABASE_URL=sqlite:////data/smps.db \
    SMPS_STORAGE_DIR=/data/files \
    SMPS_ENVIRONMENT=production \
    SMPS_RECEIPT_KEYS_DIR=/keys
USER 10001
VOLUME ["/keys"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz').status == 200 else 1)"]
# `smps serve` migrates (upgrade + seed, idempotent) and then serves.
CMD ["smps", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
