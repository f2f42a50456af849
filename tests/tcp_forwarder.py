"""A TCP forwarder for tests: from a TCP address to a TCP address or a Unix socket, bytes copied
as they are (no protocol knowledge), one thread per direction.

Uses: the test store (a Unix socket) reached over TCP like a ``DATABASE_URL`` server; the
user's loopback PostgreSQL reached from the replica test's network namespaces; and, with
``flowing`` cleared, a store cut off by a partition: every byte and every new connection is
held (no RST), as a network that drops packets does.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path


class Forwarder:
    """``listen`` (default: a free port on 127.0.0.1, see ``port``) -> ``target``, a
    ``(host, port)`` or a Unix socket's path."""

    def __init__(self, target: tuple[str, int] | str, listen: tuple[str, int] = ("127.0.0.1", 0)):
        self._target = target
        self.flowing = threading.Event()
        self.flowing.set()
        self._listener = socket.create_server(listen)
        self.port = int(self._listener.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="forwarder", daemon=True).start()

    def _connect(self) -> socket.socket:
        if isinstance(self._target, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self._target)
            return upstream
        upstream = socket.create_connection(self._target, timeout=5)
        upstream.settimeout(None)
        return upstream

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            self.flowing.wait()
            try:
                upstream = self._connect()
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self.flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # The other direction's thread sees its socket shut and ends too.
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._open.discard(source)
            source.close()

    def close(self) -> None:
        self.flowing.set()
        self._listener.close()
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def store_socket(libpq_uri: str) -> str:
    """The Unix socket of an embedded store, from its ``...?host=<dir>`` URI."""
    directory = Path(libpq_uri.split("host=", 1)[1].split("&", 1)[0])
    [path] = [p for p in directory.glob(".s.PGSQL.*") if not p.name.endswith(".lock")]
    return str(path)
