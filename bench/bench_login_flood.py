"""Latency of everyone else while 60 logins for unknown emails are in flight at once.

The backend runs as ``make run`` runs it: its own uvicorn process, on a fresh embedded store,
with the real embedding service process and the scripted Ollama-speaking server (so the
health check's model probe answers at once). This process is only the client.

Probes: ``GET /health`` and an authenticated ``GET /api/connections``, one after the other,
measured from here. Baseline: the same probes with nothing else running (same process,
same backend, just before the flood). Flood: 60 concurrent ``POST /api/auth/login`` for
unknown emails (each one a bcrypt check against the dummy hash), repeated until the probes
are done. The login limits are raised so that all 60 reach bcrypt, as a flood from 60
addresses would; at the default limits 55 of them would get a 429 before any hashing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from bench.common import ROOT, embedded_store, embedding_service, free_port, median, percentile, scripted_ollama
from tests.fake_ollama import OllamaScript

FLOOD = 60
PROBES = 60
PROBE_GAP_S = 0.05


def start_backend(
    root: Path, store_url: str, embedding_url: str, ollama_url: str, data_dir: str
) -> tuple[subprocess.Popen[bytes], str]:
    """The backend of the checkout at ``root`` in its own uvicorn process; returns it and its URL."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "DATABASE_URL": store_url,
        "MIGRATE_ON_START": "false",
        "SEXTANT_DATA_DIR": data_dir,
        "JWT_SECRET": secrets.token_urlsafe(32),
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "EMBEDDING_URL": embedding_url,
        "OLLAMA_URL": ollama_url,
        "RATE_LOGIN_FAILURES": "1000000",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.main:create_app",
            "--factory",
            "--no-proxy-headers",
            "--port",
            str(port),
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("backend did not start")


async def probe(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, list[float]]:
    """Milliseconds of ``PROBES`` health checks and connection listings, taken in turn."""
    timings: dict[str, list[float]] = {"health": [], "connections": []}
    for _ in range(PROBES):
        for name, path, extra in (("health", "/health", {}), ("connections", "/api/connections", headers)):
            started = time.perf_counter()
            response = await client.get(path, headers=extra)
            timings[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
        await asyncio.sleep(PROBE_GAP_S)
    return timings


async def flood(client: httpx.AsyncClient, stop: asyncio.Event) -> int:
    """Waves of ``FLOOD`` concurrent failed logins until ``stop``; returns how many were answered."""
    answered = 0
    while not stop.is_set():
        responses = await asyncio.gather(
            *(
                client.post("/api/auth/login", json={"email": f"nobody-{i}@example.com", "password": "wrong-guess"})
                for i in range(FLOOD)
            )
        )
        assert all(r.status_code == 401 for r in responses), {r.status_code for r in responses}
        answered += len(responses)
    return answered


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(median(values), 1), "p95_ms": round(percentile(values, 0.95), 1)}


async def measure(url: str, email: str) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=FLOOD + 10)
    async with (
        httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client,
        httpx.AsyncClient(base_url=url, timeout=300) as prober,
    ):
        creds = {"email": email, "password": "bench-password"}
        (await client.post("/api/auth/register", json=creds)).raise_for_status()
        token = (await client.post("/api/auth/login", json=creds)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        await probe(prober, headers)  # warm-up
        idle = await probe(prober, headers)
        stop = asyncio.Event()
        started = time.perf_counter()
        flooding = asyncio.create_task(flood(client, stop))
        await asyncio.sleep(1.0)  # let the first wave queue up
        loaded = await probe(prober, headers)
        stop.set()
        logins = await flooding
        elapsed = time.perf_counter() - started
    result: dict[str, Any] = {"logins_answered": logins, "login_rate_per_s": round(logins / elapsed, 1)}
    for name in ("health", "connections"):
        base, under = summary(idle[name]), summary(loaded[name])
        result[name] = {
            "idle": base,
            "flood": under,
            "p95_ratio": round(under["p95_ms"] / max(base["p95_ms"], 0.1), 2),
        }
    return result


def run(before: Path | None = None) -> dict[str, Any]:
    """Measure this checkout, and the checkout at ``before`` (an older commit) on the same store."""
    roots = {"now": ROOT, **({"before": before} if before else {})}
    results: dict[str, Any] = {"cores": os.cpu_count(), "flood": FLOOD, "probes": PROBES}
    with (
        embedded_store() as store_url,
        embedding_service() as embedding_url,
        scripted_ollama(OllamaScript()) as ollama_url,
    ):
        for label, root in roots.items():
            with tempfile.TemporaryDirectory() as data_dir:
                process, url = start_backend(root, store_url, embedding_url, ollama_url, data_dir)
                try:
                    results[label] = asyncio.run(measure(url, f"bench-{label}@example.com"))
                finally:
                    process.terminate()
                    process.wait(timeout=20)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, help="a checkout of an older commit to measure the same way")
    print(json.dumps(run(parser.parse_args().before), indent=2))
