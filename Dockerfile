# syntax=docker/dockerfile:1
# Reelbox in one image: the server (Python 3.11) with the web client's static build served at /.
#
#   docker build -t reelbox .
#   docker run -p 8420:8420 -v reelbox-data:/data -v /path/to/media:/media:ro reelbox
#
# Settings come from REELBOX_* environment variables (web/settings.py, docs/deploy.md).

# --- the web client: Expo's static export of client/ to client/dist ----------------------------
FROM node:22-bookworm-slim AS client
WORKDIR /src/client
ENV EXPO_OFFLINE=1 EXPO_NO_TELEMETRY=1 CI=1
# npm install, not npm ci: the lock names optional binaries of other platforms that the registry
# lacks. The manifests first, so that a change to the sources reuses the installed modules.
COPY client/package.json client/package-lock.json ./
RUN npm install --no-audit --no-fund --loglevel=error
COPY client/ ./
RUN npm run build:web && test -f dist/index.html

# --- the server: a virtual environment built from pyproject.toml (hatchling) --------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/reelbox
WORKDIR /src
# Every dependency is a wheel on PyPI (PyAV bundles FFmpeg and its codecs): no compiler needed.
COPY pyproject.toml README.md ./
COPY engine/ engine/
COPY ingest/ ingest/
COPY web/ web/
COPY bench/ bench/
RUN /opt/reelbox/bin/pip install --no-cache-dir .

# --- runtime ------------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime
# No ffmpeg package: PyAV's wheel carries FFmpeg 8 with libx264, libx265, SVT-AV1, libvpx, opus
# and NVENC; its native libraries need only glibc, libstdc++ and zlib, which the slim image has
# (tests/deploy/test_dockerfile.py checks that against the installed wheels).
RUN groupadd --system --gid 10001 reelbox \
    && useradd --system --uid 10001 --gid reelbox --home-dir /home/reelbox --create-home \
       --shell /usr/sbin/nologin reelbox \
    && mkdir -p /data /media \
    && chown reelbox:reelbox /data
COPY --from=build /opt/reelbox /opt/reelbox
COPY --from=client /src/client/dist /opt/reelbox/client
ENV PATH=/opt/reelbox/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    REELBOX_DATA_DIR=/data \
    REELBOX_WEBAPP_DIR=/opt/reelbox/client \
    REELBOX_HOST=0.0.0.0 \
    REELBOX_PORT=8420
VOLUME ["/data"]
EXPOSE 8420
USER 10001:10001
WORKDIR /home/reelbox
# Liveness only (the process answers); /readyz also checks the database, images and shared state.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('REELBOX_PORT', '8420') + '/healthz', timeout=4)"]
ENTRYPOINT ["reelbox"]
CMD ["serve"]
