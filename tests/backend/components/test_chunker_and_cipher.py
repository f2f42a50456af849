from __future__ import annotations

from cryptography.fernet import Fernet

from backend.components.chunker import chunk_object, identifier_words
from backend.components.url_cipher import UrlCipher
from backend.components.url_redaction import redact_url
from backend.engines.postgres.names import SQL_SPELLING, sql_ident
from backend.schemas.schema_snapshot import ColumnInfo, ForeignKeyInfo, ObjectInfo


def test_identifier_words_split_snake_and_camel_case() -> None:
    assert identifier_words("film_actor") == ["film", "actor"]
    assert identifier_words("InvoiceLine") == ["invoice", "line"]
    assert identifier_words("customerID") == ["customer", "id"]
    assert identifier_words("HTTPRequestLog") == ["http", "request", "log"]


def test_sql_ident_quotes_only_when_needed() -> None:
    assert sql_ident("film") == "film"
    assert sql_ident("CustomerId") == '"CustomerId"'
    assert sql_ident('we"ird') == '"we""ird"'


def test_wide_tables_split_and_keep_links_in_the_first_part() -> None:
    obj = ObjectInfo(
        schema_name="public",
        name="wide",
        kind="table",
        columns=[ColumnInfo(name=f"c{i}", type="text") for i in range(90)],
        primary_key=["c0"],
        foreign_keys=[
            ForeignKeyInfo(name="fk", source="public.wide", columns=["c1"], target="public.t", ref_columns=["id"])
        ],
    )
    parts = chunk_object(obj, max_columns=40, spell=SQL_SPELLING)
    assert [p.part for p in parts] == [0, 1, 2]
    assert "Joins public.t on (c1) = (id)" in parts[0].text
    assert "Joins" not in parts[1].text
    assert "- c45 (text)" in parts[1].text and "- c45 (text)" not in parts[0].text
    assert all("Table public.wide" in p.text for p in parts)
    assert len({p.content_hash("m") for p in parts}) == 3


def test_cipher_round_trip_and_redaction() -> None:
    cipher = UrlCipher(Fernet.generate_key().decode())
    url = "postgresql://app:s3cr%40t@db.example:5432/prod?sslmode=require&password=other"
    token = cipher.encrypt(url)
    assert b"s3cr" not in token and cipher.decrypt(token) == url
    redacted = redact_url(url)
    assert "s3cr" not in redacted and "other" not in redacted
    assert redacted.startswith("postgresql://app:***@db.example:5432/prod")
    assert redact_url("postgresql://app@db/x") == "postgresql://app@db/x"
