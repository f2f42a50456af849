"""Load: 20 concurrent users asking questions for 60 s against Sakila, while 3 indexing jobs run.

A real backend (uvicorn on loopback), a fresh embedded store, the embedding service in its
own process, and the scripted Ollama-speaking server answering at once. Every user has an
account of its own and asks in a loop over one HTTP connection; 5 s in, a 21st account
creates Sakila, Chinook and Northwind connections, whose indexing jobs run alongside.
Reports errors, latency percentiles, throughput, and the jobs' outcome.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.fernet import Fernet
from pydantic import SecretStr

from backend.config import (
    AuthSettings,
    CryptoSettings,
    DatabaseSettings,
    EmbeddingSettings,
    LLMSettings,
    SecuritySettings,
    Settings,
)
from backend.main import create_app
from bench.common import USER_PG_ADMIN, embedded_store, embedding_service, free_port, load_samples, percentile
from tests.fake_ollama import OllamaScript, create_fake_ollama

USERS = 20
DURATION_S = 60.0
SQL = (
    "SELECT c.name AS category, count(*) AS films FROM category c"
    " JOIN film_category fc ON fc.category_id = c.category_id GROUP BY c.name ORDER BY films DESC"
)


def _serve(app: Any) -> tuple[uvicorn.Server, str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def _login(http: httpx.Client, email: str) -> dict[str, str]:
    creds = {"email": email, "password": "load-test-password"}
    http.post("/api/auth/register", json=creds).raise_for_status()
    return {"Authorization": f"Bearer {http.post('/api/auth/login', json=creds).json()['access_token']}"}


def _wait_synced(http: httpx.Client, headers: dict[str, str], cid: str) -> dict[str, Any]:
    while True:
        body: dict[str, Any] = http.get(f"/api/connections/{cid}/sync", headers=headers).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.2)


def run() -> dict[str, Any]:
    urls = {name: load_samples.load(USER_PG_ADMIN, name) for name in ("sakila", "chinook", "northwind")}
    script = OllamaScript(answer="Sports has the most films.")
    script.default_query = json.dumps({"sql": SQL})
    script.queries = deque()
    ollama, ollama_url = _serve(create_fake_ollama(lambda: script))
    with embedded_store() as store_url, embedding_service() as embedding_url, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database=DatabaseSettings(database_url=SecretStr(store_url), migrate_on_start=False, pool_size=25),
            auth=AuthSettings(jwt_secret=SecretStr("load-" + "x" * 40)),
            crypto=CryptoSettings(encryption_key=SecretStr(Fernet.generate_key().decode())),
            embedding=EmbeddingSettings(embedding_url=embedding_url),
            llm=LLMSettings(ollama_url=ollama_url),
            security=SecuritySettings(rate_questions_per_minute=100_000, rate_signups_per_hour=100_000),
        )
        backend, base = _serve(create_app(settings))
        with httpx.Client(base_url=base, timeout=120) as http:
            owner = _login(http, "owner@example.com")
            cid = http.post(
                "/api/connections", json={"name": "sakila", "kind": "postgres", "url": urls["sakila"]}, headers=owner
            ).json()["id"]
            _wait_synced(http, owner, cid)
            # Every user asks about the owner's connection through its own copy.
            users = []
            for i in range(USERS):
                headers = _login(http, f"user{i}@example.com")
                own = http.post(
                    "/api/connections", json={"name": "s", "kind": "postgres", "url": urls["sakila"]}, headers=headers
                ).json()["id"]
                _wait_synced(http, headers, own)
                users.append((headers, own))

        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + DURATION_S

        def user_loop(headers: dict[str, str], connection_id: str) -> None:
            with httpx.Client(base_url=base, timeout=120) as client:
                while time.monotonic() < stop_at:
                    started = time.perf_counter()
                    try:
                        response = client.post(
                            "/api/query", json={"connection_id": connection_id, "question": "films per category"},
                            headers=headers,
                        )  # fmt: skip
                        ok = response.status_code == 200 and response.json()["error"] is None
                        problem = None if ok else f"{response.status_code} {response.text[:120]}"
                    except httpx.HTTPError as exc:
                        problem = f"{type(exc).__name__}"
                    elapsed = (time.perf_counter() - started) * 1000
                    with lock:
                        if problem:
                            errors.append(problem)
                        else:
                            latencies.append(elapsed)

        jobs: dict[str, Any] = {}

        def indexing() -> None:
            time.sleep(5)
            with httpx.Client(base_url=base, timeout=120) as client:
                headers = _login(client, "indexer@example.com")
                started = time.perf_counter()
                ids = {
                    name: client.post(
                        "/api/connections", json={"name": name, "kind": "postgres", "url": url}, headers=headers
                    ).json()["id"]
                    for name, url in urls.items()
                }
                for name, job_cid in ids.items():
                    status = _wait_synced(client, headers, job_cid)
                    jobs[name] = {"status": status["status"], "objects": status["counts"].get("objects")}
                jobs["all_three_s"] = round(time.perf_counter() - started, 1)

        threads = [threading.Thread(target=user_loop, args=user) for user in users]
        threads.append(threading.Thread(target=indexing))
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - began
        backend.should_exit = True
    ollama.should_exit = True
    return {
        "users": USERS,
        "duration_s": DURATION_S,
        "questions_ok": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "throughput_per_s": round(len(latencies) / wall, 1),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.5), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "max": round(max(latencies), 1) if latencies else None,
        },
        "indexing_jobs": jobs,
    }


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
