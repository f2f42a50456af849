"""The repository's nginx configuration, run by Debian's nginx on this machine.

Only what differs between the container and this machine is substituted: paths (the config
directory, certificates, web root, ACME root, the generated /metrics include), the upstream
address (``backend:8000`` exists only on the compose network) and, when a test serves for
real, the listen addresses (a loopback port of 18100-18199 instead of 8080/8443 on every
interface). Every directive that decides what a response looks like is the repository's.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(18100, 18200)


def nginx_binary() -> str:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "install Debian's nginx (make test does)"
    return nginx


def free_port() -> int:
    """A loopback port of this suite's range (18100-18199) that nothing listens on now."""
    candidates = list(PORTS)
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18100-18199")


def metrics_include(tmp_path: Path, allow: str) -> str:
    """What the entrypoint script writes for /metrics, with its paths pointed at tmp_path."""
    script = (ROOT / "nginx/40-sextant-conf.sh").read_text().replace("/etc/nginx/", f"{tmp_path}/etc/")
    (tmp_path / "etc/conf.d").mkdir(parents=True, exist_ok=True)
    (tmp_path / "etc/sextant").mkdir(parents=True, exist_ok=True)
    (tmp_path / "etc/sextant/http.conf").write_text("")
    result = subprocess.run(
        ["sh", "-c", script], env={**os.environ, "METRICS_ALLOW_CIDR": allow}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return (tmp_path / "etc/conf.d/sextant-metrics.inc").read_text()


def make_certificate(directory: Path) -> Path:
    """A self-signed ``fullchain.pem``/``privkey.pem`` for 127.0.0.1 and localhost; returns the cert."""
    directory.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(directory / "privkey.pem"), "-out", str(directory / "fullchain.pem")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return directory / "fullchain.pem"


def render(
    tmp_path: Path,
    variant: str,
    *,
    upstream: str = "127.0.0.1:8000",
    web_root: Path | None = None,
    http_port: int | None = None,
    https_port: int | None = None,
    metrics_allow: str = "",
) -> Path:
    """Write ``nginx/conf`` (``variant`` is ``http.conf`` or ``tls.conf``) under ``tmp_path`` with
    the substitutions above and a main ``nginx.conf`` around it; returns the main file.

    Without ports the listen lines stay as in the container (enough for ``nginx -t``).
    """
    conf_dir = tmp_path / "sextant"
    shutil.copytree(ROOT / "nginx/conf", conf_dir)
    certs = tmp_path / "certs"
    if not (certs / "fullchain.pem").exists():
        make_certificate(certs)
    (tmp_path / "acme").mkdir(exist_ok=True)
    (conf_dir / "sextant-metrics.inc").write_text(metrics_include(tmp_path / "gen", metrics_allow))
    for path in conf_dir.glob("*.conf"):
        # Bytes as deployed: text mode would turn a stray \r into a line end nginx never sees.
        text = path.read_bytes().decode("ascii")
        text = text.replace("/etc/nginx/sextant/", f"{conf_dir}/").replace("/etc/nginx/certs/", f"{certs}/")
        text = text.replace("/etc/nginx/conf.d/sextant-metrics.inc", f"{conf_dir}/sextant-metrics.inc")
        text = text.replace("/var/www/acme", str(tmp_path / "acme"))
        text = text.replace("server backend:8000;", f"server {upstream};")
        if web_root is not None:
            text = text.replace("root /usr/share/nginx/html;", f"root {web_root};")
        if http_port is not None:
            text = text.replace("listen 8080;", f"listen 127.0.0.1:{http_port};").replace("listen [::]:8080;", "")
        if https_port is not None:
            text = text.replace("listen 8443 ssl", f"listen 127.0.0.1:{https_port} ssl")
            text = text.replace("listen [::]:8443 ssl http2;", "")
        path.write_bytes(text.encode("ascii"))
    temp = "\n".join(
        f" {kind}_temp_path {tmp_path}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root (as in make test's container) workers would drop to nobody, who cannot read tmp_path.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"{user}pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n include /etc/nginx/mime.types;\n access_log off;\n{temp}\n include {conf_dir}/{variant};\n}}\n"
    )
    return main


class RunningNginx:
    """``nginx -g 'daemon off;'`` on a rendered configuration, until the ``with`` block ends."""

    def __init__(self, main: Path, ports: list[int]) -> None:
        self.main = main
        self.ports = ports
        self.process: subprocess.Popen[bytes] | None = None

    def error_log(self) -> str:
        path = self.main.parent / "error.log"
        return path.read_text() if path.exists() else ""

    def __enter__(self) -> RunningNginx:
        prefix = self.main.parent
        command = [nginx_binary(), "-p", str(prefix), "-c", str(self.main), "-e", str(prefix / "error.log")]
        self.process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        for port in self.ports:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"nginx exited with {self.process.returncode}: {self.error_log()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"nginx does not listen on {port}: {self.error_log()}") from None
                    time.sleep(0.05)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def web_root(tmp_path: Path) -> tuple[Path, str]:
    """The built web app (``frontend/dist``) and the path of one of its assets; a stand-in
    index.html and script in tmp_path when the app is not built."""
    dist = ROOT / "frontend/dist"
    assets = sorted((dist / "assets").glob("*.js")) if (dist / "index.html").is_file() else []
    if assets:
        return dist, f"/assets/{assets[0].name}"
    root = tmp_path / "web"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text('<!doctype html><script type="module" src="/assets/app-1.js"></script>')
    (root / "assets/app-1.js").write_text("document.title = 'Sextant';\n")
    return root, "/assets/app-1.js"
