"""A TCP forwarder to the embedded store's Unix socket that can hold every byte, as a network
that drops packets does (no RST): what a store cut off by a partition looks like to a client."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path


class FreezableForwarder:
    """TCP on 127.0.0.1 to the store's Unix socket; ``frozen`` holds every byte (and new
    connections) until it is cleared."""

    def __init__(self, target: str):
        self._target = target
        self.flowing = threading.Event()
        self.flowing.set()
        self._listener = self._bind()
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    @staticmethod
    def _bind() -> socket.socket:
        return socket.create_server(("127.0.0.1", 0))  # a port the kernel knows to be free

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.flowing.wait()
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self._target)
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
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.flowing.set()
        self._listener.close()


def store_socket(libpq_uri: str) -> str:
    """The Unix socket of an embedded store, from its ``...?host=<dir>`` URI."""
    directory = Path(libpq_uri.split("host=", 1)[1].split("&", 1)[0])
    [path] = [p for p in directory.glob(".s.PGSQL.*") if not p.name.endswith(".lock")]
    return str(path)
