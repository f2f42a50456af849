"""`make run`'s launcher refuses a port already taken, instead of announcing a Sextant whose
backend could not bind (the health check answered by whatever holds the port)."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.conftest import ROOT, free_port


def test_the_launcher_refuses_a_port_in_use_and_names_the_flag() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "scripts/run.py", "--port", str(port), "--embedding-port", str(free_port())],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.stdout and "--port" in result.stdout
    assert "Sextant is running" not in result.stdout and "starting" not in result.stdout
