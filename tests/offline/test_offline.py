"""Offline proof: indexing and asking work with every outbound connection refused.

``test_index_and_ask_inside_a_network_namespace`` re-runs ``test_index_and_ask_offline``
in a fresh network namespace (``unshare -n``: only a loopback interface, so even C
libraries cannot reach out), reaching the machine's PostgreSQL through its Unix socket.
Inside, the socket guard also fails the test on any non-loopback connect attempt.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.config import Settings
from backend.main import create_app
from tests.conftest import connect, register_and_login
from tests.fake_ollama import OllamaScript
from tests.offline.guard import no_network

ROOT = Path(__file__).resolve().parents[2]
INNER = "SEXTANT_OFFLINE_INNER"
PG_SOCKET_DIR = "/var/run/postgresql"


@pytest.mark.skipif(not os.environ.get(INNER), reason="run by test_index_and_ask_inside_a_network_namespace")
def test_index_and_ask_offline(
    settings_factory: Callable[..., Settings], sakila_url: str, ollama: OllamaScript
) -> None:
    ollama.reply_sql("SELECT count(*) AS films FROM film")
    ollama.answer = "1000 films."
    with no_network() as refused, TestClient(create_app(settings_factory())) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        hits = client.post(f"/api/connections/{cid}/search", json={"query": "films"}, headers=headers).json()
        assert hits["results"][0]["object"] == "public.film"
        body = client.post("/api/query", json={"connection_id": cid, "question": "how many films?"}, headers=headers)
        assert body.json()["rows"] == [[1000]] and body.json()["answer"] == "1000 films."
    assert refused == []


def _netns_available() -> bool:
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def test_index_and_ask_inside_a_network_namespace(tmp_path: Path) -> None:
    socket_url = f"postgresql://postgres@/postgres?host={PG_SOCKET_DIR}"
    env = {**os.environ, INNER: "1", "TEST_USER_PG_URL": os.environ.get("OFFLINE_USER_PG_URL", socket_url)}
    pytest_cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"{__file__}::test_index_and_ask_offline",
    ]
    if _netns_available():
        command = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *pytest_cmd]
    else:
        # No namespace can be made here (not root): the socket guard alone stands.
        command = pytest_cmd
        env["TEST_USER_PG_URL"] = os.environ.get("TEST_USER_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"\b1 passed\b", result.stdout), result.stdout[-2000:]


FORBIDDEN = [
    r"huggingface\.co", r"hf_hub_download", r"snapshot_download", r"api\.openai\.com", r"sentry_sdk",
    r"posthog", r"segment\.(io|com)", r"google-analytics", r"googletagmanager", r"fonts\.googleapis",
    r"cdn\.jsdelivr", r"unpkg\.com",
]  # fmt: skip


def test_no_code_path_reaches_a_model_hub_or_telemetry() -> None:
    sources = [p for d in ("backend", "embedding_service", "frontend/src", "frontend/index.html") for p in
               ([ROOT / d] if (ROOT / d).is_file() else (ROOT / d).rglob("*")) if p.is_file()]  # fmt: skip
    assert len(sources) > 20
    for path in sources:
        text = path.read_text(errors="ignore")
        for pattern in FORBIDDEN:
            assert not re.search(pattern, text), f"{path.relative_to(ROOT)} mentions {pattern}"
    embedder = (ROOT / "embedding_service/embedder.py").read_text()
    assert "local_files_only=True" in embedder and "force_offline()" in embedder
    config = (ROOT / "embedding_service/config.py").read_text()
    assert 'os.environ["HF_HUB_OFFLINE"] = "1"' in config
