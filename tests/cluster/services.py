"""Processes of the replica tests: uvicorn apps and nginx, each inside its host's namespace.

``Service`` starts a command with ``ip netns exec`` (which execs, so ``process.pid`` is the
service's own pid: SIGKILL reaches it and nothing else), logs to a file, and waits for an
HTTP health URL. ``InProcessServer`` runs an ASGI app (the scripted fake Ollama) in a thread
of the test process, on the root namespace's bridge address.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import httpx
import uvicorn

from tests.cluster.netns import Host

ROOT = Path(__file__).resolve().parents[2]


def uvicorn_command(app: str, host: Host, port: int) -> list[str]:
    """The command line of ``scripts/run.py``: the app factory, no proxy headers (the app's own
    TRUSTED_PROXIES decide), bound to the host's address."""
    return [
        sys.executable, "-m", "uvicorn", "--factory", "--no-proxy-headers", app,
        "--host", host.address, "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip


def base_env() -> dict[str, str]:
    """A clean environment: none of the developer's settings (DATABASE_URL, REDIS_URL, PG*...)
    reaches a service unless a test names it."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return env


class Service:
    """One process in one namespace. ``start`` may be called again after it ended."""

    def __init__(
        self, name: str, host: Host, port: int, argv: Sequence[str], env: Mapping[str, str], workdir: Path
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.argv = list(argv)
        self.env = dict(env)
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host.address}:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        # cwd is the service's own directory: no .env of the repository is read by accident.
        self.process = subprocess.Popen(
            self.host.command(self.argv),
            cwd=self.workdir,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, path: str = "/health", timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited; its log ends with:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + path, timeout=2, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} not healthy in {timeout_s:.0f} s; its log ends with:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown hook of the app runs."""
        if self.process is not None and self.alive():
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, grace_s: float = 10) -> None:
        if self.process is not None and self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


class InProcessServer:
    """A uvicorn server in a thread of the test process, on ``address:port``."""

    def __init__(self, app: Any, address: str, port: int) -> None:
        config = uvicorn.Config(app, host=address, port=port, log_level="warning", proxy_headers=False)
        self.url = f"http://{address}:{port}"
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the server on {self.url} did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
