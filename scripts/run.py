"""``make run``: start the embedding service and the backend, print the URL, stop both on Ctrl-C.

With no ``DATABASE_URL`` the backend starts the embedded PostgreSQL (pgvector) under
``./data`` (or ``SEXTANT_DATA_DIR``), protected by a password generated into
``./data/secrets.json``, and stops it when it exits. No Ollama is needed.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _spawn(module: str, host: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # --no-proxy-headers: uvicorn's default believes X-Forwarded-For from 127.0.0.1, i.e. from
    # anyone on this machine; the backend trusts only TRUSTED_PROXIES (none unless set).
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "--no-proxy-headers"]
    return subprocess.Popen([*uvicorn, module, "--host", host, "--port", str(port)], cwd=ROOT, env=env)


def wait_healthy(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 180) -> None:
    """Wait until ``url`` answers 200; ``SystemExit`` when ``process`` exits first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with code {process.returncode}; see the log above")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{what} did not become healthy within {timeout:.0f} s")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in reversed(processes):
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _port_taken(host: str, port: int) -> bool:
    """True when something already listens on ``host:port``: its health check would answer for
    ours and the launcher would say Sextant runs while its backend could not bind."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Explicit handlers: a launcher started in the background inherits an ignored SIGINT.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--embedding-port", type=int, default=8001)
    args = parser.parse_args()

    embedding_url = f"http://127.0.0.1:{args.embedding_port}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    # libpq fills what a connection URL leaves out from PG* variables (PGPASSWORD, PGSERVICE,
    # PGHOSTADDR...): a developer shell's own credentials must not reach a user's connection.
    for name in [n for n in env if n.startswith("PG")]:
        del env[name]
    env.setdefault("EMBEDDING_URL", embedding_url)
    # The connection policy refuses user connections to this port on a local address.
    env["BACKEND_PORT"] = str(args.port)
    for host, port, flag in ((args.host, args.port, "--port"), ("127.0.0.1", args.embedding_port, "--embedding-port")):
        if _port_taken(host, port):
            print(f"port {port} on {host} is in use: stop what holds it, or choose another with {flag}", flush=True)
            return 2
    processes: list[subprocess.Popen[bytes]] = []
    try:
        print("starting the embedding service (loads the bundled MiniLM model)...", flush=True)
        processes.append(_spawn("embedding_service.main:create_app", "127.0.0.1", args.embedding_port, env))
        wait_healthy(f"{embedding_url}/health", processes[-1], "the embedding service")
        print("starting the backend (embedded store unless DATABASE_URL is set)...", flush=True)
        processes.append(_spawn("backend.main:create_app", args.host, args.port, env))
        wait_healthy(f"http://127.0.0.1:{args.port}/health", processes[-1], "the backend")
        shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104
        print(f"\nSextant is running: http://{shown}:{args.port}  (API: /openapi.json). Ctrl-C stops it.\n", flush=True)
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        print("a service stopped; shutting down the rest", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
        return 0
    finally:
        _stop(processes)


if __name__ == "__main__":
    sys.exit(main())
