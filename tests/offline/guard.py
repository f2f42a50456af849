"""A socket guard: any connection that would leave the machine fails, and is recorded."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _allowed(family: int, address: Any) -> bool:
    if family == getattr(socket, "AF_UNIX", None):
        return True
    host = address[0] if isinstance(address, tuple) else address
    try:
        return bool(ipaddress.ip_address(host).is_loopback)
    except ValueError:
        return bool(host == "localhost")


@contextmanager
def no_network() -> Iterator[list[str]]:
    """Yields the list of refused destinations; connecting anywhere but loopback raises."""
    refused: list[str] = []
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        if not _allowed(self.family, address):
            refused.append(repr(address))
            raise OSError(f"offline test: connection to {address!r} refused")
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _allowed(self.family, address):
            refused.append(repr(address))
            return 101  # ENETUNREACH
        return original_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield refused
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
