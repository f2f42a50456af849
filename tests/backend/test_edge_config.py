"""The edge's configuration is read strictly: a security-headers line the backend cannot read as
nginx does, or a trusted proxy that is not an address, stops the backend at start."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from backend import edge
from backend.config import ProxySettings, Settings
from backend.edge import SecurityHeadersError, load_security_headers
from backend.main import create_app

GOOD = """# a comment
add_header X-Frame-Options "DENY" always;
add_header Content-Security-Policy "default-src 'self'; frame-ancestors 'none'" always;

proxy_hide_header X-Frame-Options;
proxy_hide_header Content-Security-Policy;
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "security-headers.conf"
    path.write_text(text)
    return path


def test_a_well_formed_file_gives_its_headers_in_order(tmp_path: Path) -> None:
    assert load_security_headers(write(tmp_path, GOOD)).headers == (
        ("X-Frame-Options", "DENY"),
        ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('add_header X-Test "1";', "expected"),  # without always: nginx would skip it on errors
        ('add_header X-Test "$host" always;', "expected"),  # an nginx variable the backend cannot expand
        ('add_header X-Test "a\\"b" always;', "expected"),
        ('add_header X-Test "1" always; # trailing', "expected"),
        ("expires 1d;", "expected"),
        ('add_header X-Test "1" always;\nproxy_hide_header X-Other;', "proxy_hide_header of the same name"),
        ('add_header X-Frame-Options "SAMEORIGIN" always;', "added twice"),
    ],
)
def test_anything_else_is_refused(tmp_path: Path, line: str, reason: str) -> None:
    with pytest.raises(SecurityHeadersError, match=reason):
        load_security_headers(write(tmp_path, GOOD + line + "\n"))


@pytest.mark.parametrize("separator", ["\r", "\x0b", "\x0c", "\x1c", "\x85"])
def test_line_ends_nginx_does_not_know_are_refused(tmp_path: Path, separator: str) -> None:
    """Python's splitlines() ends a line where nginx does not: after ``# note<CR>`` nginx reads
    the rest as comment, Python as a header. The two must never read different policies."""
    path = tmp_path / "security-headers.conf"
    hidden = f'# note{separator}add_header X-Extra "1" always;\nproxy_hide_header X-Extra;\n'
    path.write_bytes((GOOD + hidden).encode("latin-1"))
    with pytest.raises(SecurityHeadersError):
        load_security_headers(path)
    path.write_bytes(GOOD.replace("\n", "\r\n").encode())  # CRLF files are read like LF ones
    assert len(load_security_headers(path).headers) == 2


def test_an_add_header_without_its_proxy_hide_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecurityHeadersError, match="proxy_hide_header of the same name"):
        load_security_headers(write(tmp_path, GOOD.replace("proxy_hide_header X-Frame-Options;\n", "")))
    with pytest.raises(SecurityHeadersError, match="no add_header"):
        load_security_headers(write(tmp_path, "# nothing\n"))
    with pytest.raises(SecurityHeadersError, match="cannot read"):
        load_security_headers(tmp_path / "missing.conf")


def test_the_app_does_not_start_with_an_unreadable_policy(
    settings_factory: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(edge, "HEADERS_FILE", write(tmp_path, GOOD + "add_header X-Test 1 always;\n"))
    with pytest.raises(SecurityHeadersError, match=":7: expected"):
        create_app(settings_factory())


def test_trusted_proxies_are_addresses_or_networks_only() -> None:
    assert ProxySettings(trusted_proxies=" 10.213.47.2, 10.0.0.0/8 ,::1").trusted_proxies == [
        "10.213.47.2/32",
        "10.0.0.0/8",
        "::1/128",
    ]
    for wrong in ("*", "nginx", "10.0.0.300", "10.0.0.0/33"):
        with pytest.raises(ValidationError, match="TRUSTED_PROXIES takes IP addresses or CIDRs only"):
            ProxySettings(trusted_proxies=wrong)
