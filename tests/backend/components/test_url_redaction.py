"""``url_redaction``: what must be hidden under every reading of a URL, and what must stay readable."""

from __future__ import annotations

import re

import pytest
from psycopg.conninfo import conninfo_to_dict

from backend.components import url_redaction as r
from backend.components.url_redaction import hide_password, redact_url, secrets_of, url_problem

SHOWN = [
    # Nothing secret: shown exactly as written.
    ("postgresql://app@db/x", "postgresql://app@db/x"),
    (
        "postgresql://app@db.example:5432/prod?sslmode=require&application_name=x",
        "postgresql://app@db.example:5432/prod?sslmode=require&application_name=x",
    ),
    ("postgresql://u@/db?host=@abstract", "postgresql://u@/db?host=@abstract"),
    ("postgresql://[::1]:5432/db", "postgresql://[::1]:5432/db"),
    ("host=x port=5432 dbname=y", "host=x port=5432 dbname=y"),
    ("mongodb://h1:27017,h2/db?replicaSet=rs0", "mongodb://h1:27017,h2/db?replicaSet=rs0"),
    # The password of the user info, and every parameter libpq or pymongo takes for a secret.
    (
        "postgresql://app:s3cr%40t@db.example:5432/prod?sslmode=require&password=other",
        "postgresql://app:***@db.example:5432/prod?sslmode=require&password=***",
    ),
    ("postgresql://u:pw@h1:5432,h2:5433/db", "postgresql://u:***@h1:5432,h2:5433/db"),
    ("postgresql://h/db?%70assword=secret", "postgresql://h/db?%70assword=***"),
    ("postgresql://h/db?pass%77ord=secret&sslmode=require", "postgresql://h/db?pass%77ord=***&sslmode=require"),
    ("postgresql://h/db?sslpassword=k&sslmode=verify-full", "postgresql://h/db?sslpassword=***&sslmode=verify-full"),
    ("postgresql://h/db?oauth_client_secret=zz", "postgresql://h/db?oauth_client_secret=***"),
    ("postgresql://h/db?password=abc;defgh&port=5", "postgresql://h/db?password=***&port=5"),
    # A raw "&" in a password: what follows is no parameter libpq knows, so it is hidden too.
    ("postgresql://h/db?password=abc&defgh=ij&port=5", "postgresql://h/db?password=***&***=***&port=5"),
    ("postgresql://bob:Bob%Pa55word@host/db", "postgresql://bob:***@host/db"),
    ("host=x password=secret dbname=y", "host=x password=*** dbname=y"),
    ("host=x password='a b\\'c' dbname=y", "host=x password='***' dbname=y"),
    ("host=x password = 'unterminated dbname=y", "host=x password = '***"),
    (
        "mongodb://app:p%2Bw@h1:27017,h2/db?authSource=admin&replicaSet=rs0",
        "mongodb://app:***@h1:27017,h2/db?authSource=admin&replicaSet=rs0",
    ),
    (
        "mongodb+srv://app:pw@c.example.net/db?authSource=admin",
        "mongodb+srv://app:***@c.example.net/db?authSource=admin",
    ),
    (
        "mongodb://h/db?authSource=admin;tlsCertificateKeyFilePassword=kk",
        "mongodb://h/db?authSource=admin;tlsCertificateKeyFilePassword=***",
    ),
    (
        "mongodb://h/db?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:tok",
        "mongodb://h/db?authMechanism=MONGODB-AWS&authMechanismProperties=***",
    ),
    # Readings disagree: nothing before the last @ of the authority or path is shown.
    ("postgresql://bob:p@ss@host/db", "postgresql://***@host/db"),
    ("postgresql://bob:pa/ss@host/db", "postgresql://***@host/db"),
    ("postgresql://bob:pa?ss@host/db?password=x", "postgresql://***@host/db?password=***"),
    ("postgresql://host?x=a@b", "postgresql://***@b"),
]


@pytest.mark.parametrize(("url", "shown"), SHOWN)
def test_redact_url_hides_passwords_and_keeps_the_rest(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(shown) == shown  # applying it again (to rows stored earlier) changes nothing


@pytest.mark.parametrize("url", [u for u, _ in SHOWN])
def test_libpq_s_own_reading_of_the_password_is_a_secret(url: str) -> None:
    try:
        info = conninfo_to_dict(url)
    except Exception:  # not every entry is something libpq reads
        return
    for key in ("password", "sslpassword"):
        secret = str(info.get(key) or "")
        if secret:
            assert secret in secrets_of(url)
            # A short password is hidden where it stands alone ("p" stays in "postgresql").
            assert re.search(rf"(?<!\w){re.escape(secret)}(?!\w)", redact_url(url)) is None


ACCEPTED = [
    ("postgres", "postgresql://u:p%40ss@localhost:5432/db?sslmode=disable&application_name=x"),
    ("postgres", "postgres://u@/db?host=@abstract"),
    ("postgres", "postgresql://u@/db?host=%2Ftmp"),
    ("postgres", "postgresql://[::1]:5432/db"),
    ("postgres", "postgresql://u:pässwörd@h/db"),
    ("postgres", "postgresql://u:p:w@h/db"),
    ("postgres", "postgresql://h/db?application_name=me@corp"),
    ("postgres", "postgresql://h:/db"),
    ("mongodb", "mongodb://u:p%3Aw@h1,h2:27018/db?authSource=admin"),
    ("mongodb", "mongodb+srv://u:pw@cluster.example.net/?authSource=admin"),
    ("mongodb", "mongodb://h/db?authSource=admin;replicaSet=rs0"),
]


@pytest.mark.parametrize(("kind", "url"), ACCEPTED)
def test_well_formed_urls_are_accepted(kind: str, url: str) -> None:
    assert url_problem(kind, url) is None


REFUSED = [
    ("postgres", "postgresql://bob:Bob%Pa55word@host/db", r.PERCENT),
    ("postgres", "postgresql://bob:Pw0rd@Secret9@host/db", r.AT),
    ("postgres", "postgresql://bob:pa/ss@host/db", r.AT),
    ("postgres", "postgresql://bob:12/ss@host/db", r.AT),
    ("postgres", "postgresql://bob:pa?ss@host/db", r.AT),
    ("postgres", "postgresql://host?user=a@b", r.AT),
    ("postgres", "postgresql://bob:pa#ss@host/db", r.HASH),
    ("postgres", "postgresql://h/db?password=a#b", r.HASH),
    ("postgres", "postgresql://bob:pa ss@host/db", r.SPACES),
    ("postgres", "postgresql://bob:pa\tss@host/db", r.SPACES),
    ("postgres", "postgresql://bob:p%00ss@h/db", r.NUL),
    ("postgres", "postgresql://bob:p%C3ss@h/db", r.NOT_UTF8),
    ("postgres", "postgresql://bob:p\uff20ss@h/db", r.LOOKALIKE),
    ("postgres", "postgresql://bob:p[ss@h/db", r.BRACKETS),
    ("postgres", "postgresql://h:port/db", r.PORT),
    ("postgres", "postgresql://h/db?password=ab&cd", r.PARAMS),
    ("postgres", "postgresql://h/db?password=a=b", r.PARAMS),
    ("mongodb", "mongodb://h/db?authSource=admin&tail", r.PARAMS),
    ("mongodb", "mongodb://h/db?authSource=admin;tail", r.PARAMS),
    ("postgres", "POSTGRESQL://bob:secret@h/db", r.WRONG_SCHEME["postgres"]),
    ("postgres", "host=x password=secret dbname=y", r.WRONG_SCHEME["postgres"]),
    ("postgres", "mongodb://h/db", r.OTHER_KIND["postgres"]),
    ("mongodb", "postgresql://bob@h/db", r.OTHER_KIND["mongodb"]),
    ("postgres", "mysql://root@127.0.0.1:3306/test", "MySQL isn't supported: " + r.SUPPORTED),
    ("mongodb", "mariadb://root@h/test", "MariaDB isn't supported: " + r.SUPPORTED),
    ("postgres", "jdbc:sqlserver://h:1433;databaseName=x", "SQL Server isn't supported: " + r.SUPPORTED),
    ("postgres", "mysql+pymysql://u:p@h/db", "MySQL isn't supported: " + r.SUPPORTED),
    ("postgres", "sqlite:///tmp/x.db", "SQLite isn't supported: " + r.SUPPORTED),
    ("postgres", "https://example.com/db", r.WRONG_SCHEME["postgres"]),
    ("mongodb", "mongodb://bob:pa:ss@h/db", r.MONGO_COLON),
    ("mongodb", "mongodb://bob:p@ss@h/db", r.AT),
    ("mongodb", "mongodb://bob:pa/ss@h/db?authSource=admin", r.AT),
    ("mongodb", "MONGODB://h", r.WRONG_SCHEME["mongodb"]),
]


@pytest.mark.parametrize(("kind", "url", "sentence"), REFUSED)
def test_ambiguous_urls_are_refused_without_quoting_them(kind: str, url: str, sentence: str) -> None:
    assert url_problem(kind, url) == sentence  # a fixed sentence: it cannot quote the URL


SCRUBBED = [
    ('invalid percent-encoded token: "Bob%Pa55word"', "postgresql://bob:Bob%Pa55word@h/db", ["Pa55word"]),
    (
        'could not translate host name "Secret9@127.0.0.1" to address',
        "postgresql://bob:Pw0rd@Secret9@127.0.0.1/db",
        ["Secret9", "Pw0rd"],
    ),
    (
        'missing "=" after "POSTGRESQL://bob:hunter2-x@h/db" in connection info string',
        "POSTGRESQL://bob:hunter2-x@h/db",
        ["hunter2-x"],
    ),
    ("Port could not be cast to integer value as 'pa'", "postgresql://bob:pa/ss-word@host/db", ["'pa'"]),
    ("the server said s3cr@t-pass", "postgresql://app:s3cr%40t-pass@h/db", ["s3cr@t-pass"]),
    ("quoted as s3cr%40t-pass", "postgresql://app:s3cr@t-pass@h/db", ["s3cr%40t-pass"]),
    ('{"error": "p\\u00e4ssw\\u00f6rd"}', "postgresql://app:p%C3%A4ssw%C3%B6rd@h/db", ["p\\u00e4ssw"]),
    ("a b'c-longer leaked", "host=x password='a b\\'c-longer' dbname=y", ["b'c-longer"]),
    ("auth as top secret1 failed", "mongodb://u:top+secret1@h/db", ["top secret1"]),
    ("echo Sup3r-secret", "postgresql://h/db?%70assword=Sup3r-secret", ["Sup3r-secret"]),
    ('invalid port number: "ab"', "postgresql://u:ab@h/db", ['"ab"']),
    ('invalid URI query parameter: "cd-tail"', "postgresql://h/db?password=ab&cd-tail=x", ["cd-tail"]),
]


@pytest.mark.parametrize(("message", "url", "gone"), SCRUBBED)
def test_hide_password_scrubs_every_spelling(message: str, url: str, gone: list[str]) -> None:
    hidden = hide_password(message, url)
    assert "***" in hidden
    for text in gone:
        assert text not in hidden


KEPT = [
    # A one-letter password does not blank out every "a" of a message.
    (
        'connection to server at "127.0.0.1", port 1 failed: Connection refused',
        "postgresql://postgres:a@127.0.0.1:1/postgres",
    ),
    # A short one is hidden only where it stands alone, not inside "password".
    ('password authentication failed for user "postgres"', "postgresql://postgres:pass@h/db"),
    # User name and host stay visible.
    ('password authentication failed for user "bob" at db.example', "postgresql://bob:bobs-secret@db.example/x"),
    ('database "sextant_x" does not exist', "postgresql://postgres@127.0.0.1:5432/sextant_x"),
    ("No servers found yet, Timeout: 1.0s", "mongodb://app:pw-long-enough@127.0.0.1:1/db?authSource=admin"),
    ("could not connect: Connection refused", "not a url at all"),
]


@pytest.mark.parametrize(("message", "url"), KEPT)
def test_hide_password_keeps_ordinary_messages_readable(message: str, url: str) -> None:
    assert hide_password(message, url) == message


def test_a_query_full_of_at_signs_gives_a_handful_of_candidates() -> None:
    """Each "@" after a ":" once ended a candidate: a 4 KB URL made ~6,000 of them (1.3 s a call)."""
    for unit in ("a@", "😀@"):
        url = ("postgresql://no-such-host.invalid/db?application_name=x:" + unit * 4000)[:4096]
        assert url_problem("postgres", url) is None
        assert len(secrets_of(url)) < 60
