# isoflow web service: gunicorn serving api.wsgi:app on port 8000.
# Build: docker build -t isoflow .    Run: docker run -p 8000:8000 isoflow

# The pages' diagram viewer and modeler (bpmn-js from npm, bundled by esbuild): built here,
# only the bundles go into the image (no Node at run time).
FROM node:20-slim AS web-assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY api/web/frontend ./api/web/frontend
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TZ=Asia/Ho_Chi_Minh \
    ISOFLOW_BPMN_DIR=/app/bpmn

WORKDIR /app

# WeasyPrint (printable documents) needs pango; Liberation fonts cover Vietnamese.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation2 \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first (lxml, psycopg[binary], argon2-cffi ship manylinux wheels: no compiler
# on the slim image), so editing code does not reinstall them.
COPY pyproject.toml README.md ./
COPY engine ./engine
COPY api ./api
COPY --from=web-assets /src/api/web/static/build ./api/web/static/build
COPY cli ./cli
RUN pip install . \
    && groupadd --system --gid 10001 isoflow \
    && useradd --system --uid 10001 --gid isoflow --home-dir /app --shell /usr/sbin/nologin isoflow \
    && mkdir -p /app/var \
    && chown isoflow:isoflow /app/var

# The procedure library (models and forms) is data, read at run time.
COPY bpmn ./bpmn

USER isoflow
EXPOSE 8000

# slim has no curl: probe /healthz with the Python standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# Bring the schema up to date (ISOFLOW_DATABASE_URL), then serve. The scheduler runs
# as its own container with the same image: CMD ["isoflow", "scheduler"].
CMD ["sh", "-c", "isoflow db upgrade && exec gunicorn --bind 0.0.0.0:8000 --workers 2 --threads 4 --worker-class api.gunicorn_worker.IsoflowWorker --limit-request-line 8190 --access-logfile - --error-logfile - api.wsgi:app"]
