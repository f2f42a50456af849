"""Driver options that would turn the appliance's own files, credentials or network against it."""

from __future__ import annotations

import pytest

from backend.components.connection_options import refused_option

PG = "postgresql://bob:pw@db.example.com:5432/shop"
MONGO = "mongodb://bob:pw@db.example.com:27017/shop"

REFUSED = [
    ("postgres", f"{PG}?sslkeylogfile=/data/secrets.json"),
    ("postgres", f"{PG}?sslkey=/etc/ssl/private/key.pem&sslmode=require"),
    ("postgres", f"{PG}?sslcert=/etc/passwd"),
    ("postgres", f"{PG}?sslrootcert=/data/secrets.json"),
    ("postgres", f"{PG}?sslcrl=/x"),
    ("postgres", f"{PG}?sslcrldir=/x"),
    ("postgres", f"{PG}?passfile=/root/.pgpass"),
    ("postgres", f"{PG}?service=prod"),
    ("postgres", f"{PG}?%73slkey=/etc/ssl/private/key.pem"),  # libpq decodes the key
    ("postgres", f"{PG}?oauth_issuer=http://169.254.169.254/&oauth_client_id=x"),
    ("postgres", f"{PG}?replication=database"),
    ("postgres", f"{PG}?gssdelegation=1"),
    ("postgres", "host=db.example.com dbname=shop sslkey=/etc/ssl/private/key.pem"),
    ("mongodb", f"{MONGO}?tlsCAFile=/etc/passwd"),
    ("mongodb", f"{MONGO}?tls=true&tlsCertificateKeyFile=/data/secrets.json"),
    ("mongodb", f"{MONGO}?TLSCRLFILE=/x"),
    ("mongodb", f"{MONGO}?authSource=admin;tlsCAFile=/x"),
    ("mongodb", "mongodb://db.example.com/?authMechanism=MONGODB-AWS"),
    ("mongodb", "mongodb://db.example.com/?authMechanism=mongodb-oidc&authMechanismProperties=ENVIRONMENT:azure"),
    ("mongodb", "mongodb://bob@db.example.com/?authMechanism=GSSAPI"),
    ("mongodb", "mongodb://db.example.com/?authMechanism=MONGODB-X509"),
    ("mongodb", "mongodb+srv://bob:pw@cluster.example.com/?tlsCAFile=/x"),
]

ALLOWED = [
    ("postgres", PG),
    ("postgres", f"{PG}?sslmode=require"),
    ("postgres", f"{PG}?sslmode=verify-full&sslrootcert=system"),
    ("postgres", f"{PG}?application_name=reports&connect_timeout=5"),
    ("postgres", f"{PG}?options=-c%20search_path%3Dsales&target_session_attrs=read-only"),
    ("postgres", f"{PG}?gssencmode=disable&gssdelegation=0&channel_binding=prefer"),
    ("postgres", "postgresql://db1.example.com,db2.example.com/shop?load_balance_hosts=random"),
    ("postgres", "host=db.example.com port=5432 dbname=shop user=bob password=pw sslmode=prefer"),
    ("mongodb", MONGO),
    ("mongodb", f"{MONGO}?authSource=admin&replicaSet=rs0&readPreference=secondaryPreferred"),
    ("mongodb", f"{MONGO}?tls=true&tlsAllowInvalidHostnames=false&appName=x"),
    ("mongodb", f"{MONGO}?authMechanism=SCRAM-SHA-256"),
    ("mongodb", f"{MONGO}?authMechanism=scram-sha-1;authSource=admin"),
    ("mongodb", "mongodb://bob:pw@ldap.example.com/?authMechanism=PLAIN&authSource=$external"),
    ("mongodb", "mongodb+srv://bob:pw@cluster0.example.mongodb.net/shop?retryWrites=true&w=majority"),
]


@pytest.mark.parametrize(("kind", "url"), REFUSED)
def test_refused(kind: str, url: str) -> None:
    sentence = refused_option(kind, url)
    assert sentence is not None and sentence.startswith("The connection URL may not")
    # The sentence names the option, never its value (which may be a path or a secret).
    assert "/etc" not in sentence and "/data" not in sentence and "169.254" not in sentence


@pytest.mark.parametrize(("kind", "url"), ALLOWED)
def test_allowed(kind: str, url: str) -> None:
    assert refused_option(kind, url) is None
