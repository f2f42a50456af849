# syntax=docker/dockerfile:1
# The Sextant backend: FastAPI on uvicorn, runs its migrations on start.
FROM python:3.11.14-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

FROM base AS deps
COPY requirements.txt /app/requirements.txt
COPY requirements/backend.in /app/requirements/backend.in
RUN pip install --no-cache-dir -r /app/requirements/backend.in

FROM base
COPY --from=deps /usr/local/lib/python3.11/site-packages /usr/local/lib/python3.11/site-packages
COPY --from=deps /usr/local/bin/uvicorn /usr/local/bin/alembic /usr/local/bin/
COPY backend /app/backend
# The security headers' one source, read by the backend at start (backend/edge.py).
COPY nginx/conf/security-headers.conf /app/nginx/conf/security-headers.conf
RUN groupadd --system --gid 10001 sextant \
    && useradd --system --uid 10001 --gid sextant --home-dir /data --no-create-home sextant \
    && mkdir -p /data && chown sextant:sextant /data
ENV SEXTANT_DATA_DIR=/data FRONTEND_DIR=/nonexistent
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
# Forwarded headers are believed only from TRUSTED_PROXIES (nginx), by the app itself.
CMD ["uvicorn", "backend.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--no-proxy-headers"]
