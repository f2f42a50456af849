"""The security headers on every response, both ways Sextant is served: the repository's nginx
configuration (Debian's nginx, plain HTTP and TLS) in front of a real backend, and the backend
alone as ``make run`` serves it. Each header exactly once, with the value of the one policy file.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from backend.config import Settings
from backend.edge import load_security_headers
from backend.main import create_app
from tests.conftest import ServerThread
from tests.deploy.nginx_harness import RunningNginx, free_port, make_certificate, render, web_root

POLICY = load_security_headers().headers
HSTS = "Strict-Transport-Security"


def test_the_policy_forbids_framing_sniffing_and_foreign_sources() -> None:
    """What the other tests compare against is itself the policy the review asked for."""
    policy = dict(POLICY)
    csp = policy["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert policy["X-Frame-Options"] == "DENY" and policy["X-Content-Type-Options"] == "nosniff"


@dataclass
class Served:
    asset: str
    backend: str
    nginx: str
    tls_redirect: str
    tls: str
    certificate: Path


@pytest.fixture
def served(settings_factory: Callable[..., Settings], tmp_path: Path) -> Iterator[Served]:
    root, asset = web_root(tmp_path)
    backend = ServerThread(create_app(settings_factory(frontend_dir=root)), free_port()).start()
    upstream = f"127.0.0.1:{backend.port}"
    certificate = make_certificate(tmp_path / "tls/certs")
    http_port, redirect_port, tls_port = free_port(), free_port(), free_port()
    plain = render(tmp_path / "http", "http.conf", upstream=upstream, web_root=root, http_port=http_port)
    tls = render(
        tmp_path / "tls", "tls.conf", upstream=upstream, web_root=root, http_port=redirect_port, https_port=tls_port
    )
    try:
        with RunningNginx(plain, [http_port]), RunningNginx(tls, [redirect_port, tls_port]):
            yield Served(
                asset=asset,
                backend=backend.url,
                nginx=f"http://127.0.0.1:{http_port}",
                tls_redirect=f"http://127.0.0.1:{redirect_port}",
                tls=f"https://127.0.0.1:{tls_port}",
                certificate=certificate,
            )
    finally:
        backend.stop()


def paths(asset: str) -> dict[str, int]:
    """Each path and the status it must answer (so a header check never passes on a wrong page)."""
    return {
        "/": 200,
        "/index.html": 200,
        "/login": 200,  # a client-side route: index.html
        asset: 200,
        "/assets/no-such-file.js": 404,
        "/health": 200,
        "/api/connections": 401,
        "/api/no-such-route": 404,
    }


def header_problems(response: httpx.Response, hsts: bool) -> list[str]:
    """Every way the response's security headers differ from the policy (empty: none)."""
    where = f"{response.request.url} ({response.status_code})"
    problems = []
    expected = [*POLICY, (HSTS, "max-age=31536000")] if hsts else POLICY
    for name, value in expected:
        if response.headers.get_list(name) != [value]:
            problems.append(f"{where}: {name} is {response.headers.get_list(name)}")
    if not hsts and HSTS in response.headers:
        problems.append(f"{where}: HSTS over plain HTTP")
    return problems


def check(base_url: str, asset: str, hsts: bool = False, verify: ssl.SSLContext | bool = True) -> list[str]:
    problems = []
    with httpx.Client(base_url=base_url, verify=verify, timeout=30) as http:
        for path, status in paths(asset).items():
            response = http.get(path)
            if response.status_code != status:
                problems.append(f"{path}: status {response.status_code}, expected {status}")
            problems += header_problems(response, hsts)
    return problems


def test_every_response_of_the_backend_alone_carries_the_headers_once(served: Served) -> None:
    assert check(served.backend, served.asset) == []


def test_every_response_through_nginx_carries_the_headers_once(served: Served) -> None:
    assert check(served.nginx, served.asset) == []
    with httpx.Client(base_url=served.nginx) as http:
        # nginx's own answers too, and caching set without an add_header of its own.
        assert header_problems(http.get("/metrics"), hsts=False) == []
        assert http.get("/").headers.get_list("Cache-Control") == ["no-cache"]
        assert http.get(served.asset).headers.get_list("Cache-Control") == ["max-age=604800"]


def test_every_https_response_carries_hsts_and_plain_http_only_redirects(served: Served) -> None:
    verify = ssl.create_default_context(cafile=str(served.certificate))
    assert check(served.tls, served.asset, hsts=True, verify=verify) == []
    with httpx.Client(base_url=served.tls_redirect) as http:
        redirect = http.get("/login")
    assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")
    assert header_problems(redirect, hsts=False) == []


def test_an_unhandled_error_carries_the_headers_too(settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    app = create_app(settings_factory(frontend_dir=tmp_path / "no-web-app"))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500 and response.text == "Internal Server Error"
    for name, value in POLICY:
        assert response.headers.get_list(name) == [value], name
