"""Where a connection URL really leads: every endpoint libpq or pymongo would try, resolved like they would.

PostgreSQL: ``host``, ``hostaddr`` and ``port`` after libpq's own parsing (the URL's host list,
``?host=`` and ``?hostaddr=`` query parameters, percent-encoded socket paths), each host name
resolved with ``getaddrinfo`` off the event loop (what psycopg does before it connects). The
returned URL is *pinned*: it names every resolved address in ``hostaddr`` so the driver
connects to exactly the addresses that were checked, and DNS cannot change in between.

MongoDB: the ``mongodb://`` host list (Unix sockets end in ``.sock``), or the SRV record of a
``mongodb+srv://`` host, resolved with dnspython; then every host with ``getaddrinfo``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

import dns.asyncresolver
import dns.exception
import dns.rdtypes.IN.SRV
import psycopg
from psycopg.conninfo import conninfo_to_dict
from pymongo.errors import PyMongoError
from pymongo.uri_parser_shared import split_hosts

from backend.components.connection_options import refused_option
from backend.components.errors import ConnectorError
from backend.components.url_redaction import hide_password, url_problem

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port, numeric_only) -> the addresses getaddrinfo gives; raises OSError when it gives none.
Resolve = Callable[[str, int, bool], Awaitable[tuple[IPAddress, ...]]]

DEFAULT_PG_PORT = 5432
DEFAULT_MONGO_PORT = 27017


class TargetError(ConnectorError):
    """The URL cannot be followed (malformed, or no host of it resolves); ``str()`` is safe to show."""


@dataclass(frozen=True)
class SocketEndpoint:
    """A Unix socket: ``directory`` as written (PostgreSQL) or the directory of a ``.sock`` file (MongoDB)."""

    shown: str
    directory: str


@dataclass(frozen=True)
class TcpEndpoint:
    """One host of the URL and every address it resolved to; ``shown`` is ``host:port`` as written."""

    shown: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True)
class Unresolved:
    host: str
    reason: str


@dataclass(frozen=True)
class Target:
    """Everything a connection URL may connect to; ``url`` is what the driver must be given."""

    kind: str
    url: str
    sockets: tuple[SocketEndpoint, ...]
    tcp: tuple[TcpEndpoint, ...]
    unresolved: tuple[Unresolved, ...]

    def unreachable_error(self) -> TargetError:
        """The error when no endpoint is left: every host name failed to resolve."""
        first = self.unresolved[0] if self.unresolved else Unresolved("", "no host")
        return TargetError(
            f'Could not connect: could not translate host name "{first.host}" to address: {first.reason}'
        )


async def getaddrinfo(host: str, port: int, numeric: bool) -> tuple[IPAddress, ...]:
    """The TCP addresses of ``host`` as the C library gives them (``127.1``, ``2130706433``... included)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        host,
        port,
        type=socket.SOCK_STREAM,
        proto=socket.IPPROTO_TCP,
        flags=socket.AI_NUMERICHOST if numeric else 0,
    )
    found: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = ipaddress.ip_address(str(sockaddr[0]))
            if address not in found:
                found.append(address)
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return tuple(found)


def shown(host: str, port: int | None) -> str:
    """``host:port`` with IPv6 literals in brackets; a socket path or no port: the host alone."""
    if port is None or host.startswith(("/", "@")):
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _split(value: object) -> list[str]:
    return str(value).split(",") if value else []


def _port(text: str, default: int) -> int:
    text = text.strip()
    if not text:
        return default
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise TargetError(f'Malformed connection URL: invalid port number "{text}"')
    return int(text)


def _pin(url: str, attempts: list[tuple[str, str, int]]) -> str:
    """``url`` with ``host``, ``hostaddr`` and ``port`` replaced by one entry per attempt (query wins in libpq)."""
    parts = urlsplit(url)
    kept = [
        item
        for item in parts.query.split("&")
        if item and unquote(item.split("=", 1)[0]).strip() not in ("host", "hostaddr", "port")
    ]
    hosts = ",".join(host for host, _, _ in attempts)
    addresses = ",".join(address for _, address, _ in attempts)
    ports = ",".join(str(port) for _, _, port in attempts)
    kept.append("host=" + quote(hosts, safe="/,:@"))
    if any(address for _, address, _ in attempts):
        kept.append("hostaddr=" + quote(addresses, safe=",:"))
    kept.append("port=" + ports)
    return urlunsplit(parts._replace(query="&".join(kept)))


async def postgres_target(url: str, resolve: Resolve = getaddrinfo) -> Target:
    """Every socket and address libpq would try for ``url``; raises ``TargetError`` for a malformed one."""
    try:
        info = conninfo_to_dict(url)
    except (psycopg.Error, UnicodeDecodeError) as exc:
        # libpq quotes the token it could not read, which may be (part of) the password.
        first = (str(exc).strip().splitlines() or ["invalid"])[0]
        raise TargetError("Malformed connection URL: " + hide_password(first, url)) from None
    hosts, hostaddrs, ports = _split(info.get("host")), _split(info.get("hostaddr")), _split(info.get("port"))
    count = max(len(hosts), len(hostaddrs))
    if count == 0:
        raise TargetError("The connection URL names no host")
    if hosts and hostaddrs and len(hosts) != len(hostaddrs):
        raise TargetError(f"Malformed connection URL: {len(hosts)} host names but {len(hostaddrs)} hostaddr values")
    if len(ports) > 1 and len(ports) != count:
        raise TargetError(f"Malformed connection URL: {len(ports)} port numbers for {count} hosts")
    sockets: list[SocketEndpoint] = []
    tcp: list[TcpEndpoint] = []
    unresolved: list[Unresolved] = []
    attempts: list[tuple[str, str, int]] = []
    for i in range(count):
        host = hosts[i].strip() if hosts else ""
        hostaddr = hostaddrs[i].strip() if hostaddrs else ""
        port = _port(ports[i] if len(ports) > 1 else (ports[0] if ports else ""), DEFAULT_PG_PORT)
        if hostaddr:
            try:
                found = await resolve(hostaddr, port, True)
            except OSError as exc:
                raise TargetError(f'Malformed connection URL: hostaddr "{hostaddr}" is not a numeric address') from exc
            tcp.append(TcpEndpoint(shown(hostaddr, port), host, port, found))
            attempts += [(host, str(address), port) for address in found]
        elif host.startswith(("/", "@")):
            sockets.append(SocketEndpoint(host, host))
            attempts.append((host, "", port))
        elif host:
            try:
                found = await resolve(host, port, False)
            except OSError as exc:
                unresolved.append(Unresolved(host, _reason(exc)))
                continue
            tcp.append(TcpEndpoint(shown(host, port), host, port, found))
            attempts += [(host, str(address), port) for address in found]
        else:
            raise TargetError("The connection URL names an empty host")
    pinned = _pin(url, attempts) if attempts and (tcp or unresolved) else url
    return Target("postgres", pinned, tuple(sockets), tuple(tcp), tuple(unresolved))


async def srv_hosts(name: str, resolver: dns.asyncresolver.Resolver | None) -> list[tuple[str, int]]:
    """The ``(target, port)`` pairs of the SRV record ``name``; raises ``dns.exception.DNSException``."""
    answer = await (resolver or dns.asyncresolver.Resolver()).resolve(name, "SRV")
    pairs: list[tuple[str, int]] = []
    for record in answer:
        if isinstance(record, dns.rdtypes.IN.SRV.SRV):
            pairs.append((record.target.to_text(omit_final_dot=True), int(record.port)))
    return pairs


async def mongo_target(
    url: str, resolve: Resolve = getaddrinfo, resolver: dns.asyncresolver.Resolver | None = None
) -> Target:
    """Every socket and address pymongo would try first for ``url`` (the seed list, or the SRV record's hosts)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise TargetError(f"Malformed connection URL: {hide_password(str(exc), url)}") from None
    hosts_text = parts.netloc.rpartition("@")[2]
    entries: list[tuple[str, int | None]]
    if parts.scheme == "mongodb+srv":
        options = {key.lower(): value for key, value in parse_qsl(parts.query, keep_blank_values=True)}
        service = options.get("srvservicename") or "mongodb"
        try:
            entries = [(h, p) for h, p in await srv_hosts(f"_{service}._tcp.{hosts_text}", resolver)]
        except (dns.exception.DNSException, OSError) as exc:
            raise TargetError(f"Could not resolve the SRV record of {hosts_text}: {exc}") from exc
        if not entries:
            raise TargetError(f"Could not resolve the SRV record of {hosts_text}: it lists no hosts")
    else:
        try:
            entries = [
                (str(h), int(p) if p is not None else None) for h, p in split_hosts(hosts_text, DEFAULT_MONGO_PORT)
            ]
        except (PyMongoError, ValueError) as exc:
            raise TargetError(f"Malformed connection URL: {hide_password(str(exc), url)}") from None
    sockets: list[SocketEndpoint] = []
    tcp: list[TcpEndpoint] = []
    unresolved: list[Unresolved] = []
    for host, port in entries:
        if host.endswith(".sock"):
            sockets.append(SocketEndpoint(host, os.path.dirname(host) or "."))
            continue
        effective = port or DEFAULT_MONGO_PORT
        try:
            found = await resolve(host, effective, False)
        except OSError as exc:
            unresolved.append(Unresolved(host, _reason(exc)))
            continue
        tcp.append(TcpEndpoint(shown(host, effective), host, effective, found))
    return Target("mongodb", url, tuple(sockets), tuple(tcp), tuple(unresolved))


SERVER_ANSWERED = ("FATAL:", "ERROR:", "fe_sendauth", "SCRAM", "Authentication failed", "not authorized")


def describe_failure(target: Target, message: str) -> str:
    """``message`` of a failed connection, unless it would tell whether a socket path exists.

    A Unix-socket connection that no server answered gets the same sentence whether the
    directory exists, is missing, is a file or holds something else; a server's own answer
    (authentication failed, no such database) is kept.
    """
    if not target.sockets or not message.startswith("Could not connect"):
        return message
    if any(marker in message for marker in SERVER_ANSWERED):
        return message
    engine = "PostgreSQL" if target.kind == "postgres" else "MongoDB"
    if len(target.sockets) == 1 and not target.tcp:
        where = target.sockets[0].shown
        if target.kind == "postgres":
            return f"Could not connect: No {engine} server answered on the Unix socket in {where}"
        return f"Could not connect: No {engine} server answered on the Unix socket {where}"
    places = [s.shown for s in target.sockets] + [t.shown for t in target.tcp]
    return f"Could not connect: No {engine} server answered at {', '.join(places)}"


async def resolve_target(
    kind: str, url: str, resolve: Resolve = getaddrinfo, resolver: dns.asyncresolver.Resolver | None = None
) -> Target:
    """The target of a user's ``url``; raises ``TargetError`` whose text holds no password of it.

    A URL the parsers could read differently (``url_problem``) is refused before any is asked.
    """
    problem = url_problem(kind, url) or refused_option(kind, url)
    if problem is not None:
        raise TargetError(problem)
    try:
        if kind == "postgres":
            return await postgres_target(url, resolve)
        return await mongo_target(url, resolve, resolver)
    except TargetError as exc:
        raise TargetError(hide_password(str(exc), url)) from None
