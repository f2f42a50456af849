"""ConnectionPolicy on its own: pinning, SRV records through a real DNS exchange, rule parsing."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator

import dns.asyncresolver
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from backend.components.connection_policy import ConnectionPolicy, PolicyRefusal, Rule, Service, parse_rules, variants
from backend.components.connection_targets import TargetError

STORE_PORT = 18_155  # nothing listens there: the policy must refuse before any connection


def _policy(*, allow: list[str] | None = None, resolver: dns.asyncresolver.Resolver | None = None) -> ConnectionPolicy:
    return ConnectionPolicy(
        f"postgresql+psycopg://sextant:***@localhost:{STORE_PORT}/sextant",
        "/nonexistent/sextant-data",
        [Service("127.0.0.1", 18_156), Service(None, 18_157)],
        allow=parse_rules(allow or []),
        srv_resolver=resolver,
    )


async def test_the_url_is_pinned_to_the_addresses_checked() -> None:
    url = "postgresql://u:p%40ss@localhost:5432/db?sslmode=disable&application_name=x"
    target = await _policy().check("postgres", url)
    info = conninfo_to_dict(target.url)
    hostaddrs = str(info["hostaddr"]).split(",")
    assert {ipaddress.ip_address(a) for a in hostaddrs} <= {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert str(info["host"]).split(",") == ["localhost"] * len(hostaddrs)
    assert str(info["port"]).split(",") == ["5432"] * len(hostaddrs)
    assert (info["password"], info["sslmode"], info["dbname"]) == ("p@ss", "disable", "db")
    # Sockets and names that do not resolve are left to fail (or are dropped), never re-resolved later.
    mixed = await _policy().check("postgres", "postgresql://u@/db?host=/var/nowhere,no-such-host.invalid,127.0.0.1")
    assert conninfo_to_dict(mixed.url)["host"] == "/var/nowhere,127.0.0.1"
    assert conninfo_to_dict(mixed.url)["hostaddr"] == ",127.0.0.1"
    with pytest.raises(TargetError, match=r'could not translate host name "no-such-host\.invalid"'):
        await _policy().check("postgres", "postgresql://u@no-such-host.invalid/db")


async def test_a_pinned_url_still_connects(sakila_url: str) -> None:
    target = await _policy().check("postgres", sakila_url.replace("127.0.0.1", "localhost"))
    async with await psycopg.AsyncConnection.connect(target.url) as conn:
        assert await (await conn.execute("SELECT 1")).fetchone() == (1,)


@pytest.mark.parametrize(
    "host",
    ["localhost", "127.1", "2130706433", "0x7f.0.0.1", "0.0.0.0", "[::1]", "[::]", "[::ffff:127.0.0.1]", "127.9.9.9"],
)
async def test_every_local_spelling_of_the_store_port_is_refused(host: str) -> None:
    with pytest.raises(PolicyRefusal, match="the appliance's own store"):
        await _policy().check("postgres", f"postgresql://u@{host}:{STORE_PORT}/db")
    with pytest.raises(PolicyRefusal, match="one of the appliance's own services"):
        await _policy().check("postgres", f"postgresql://u@{host}:18157/db")


@pytest.fixture
def dns_server() -> Iterator[int]:
    """A real DNS server on a loopback UDP port that knows one SRV record; yields its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    records = {
        "_mongodb._tcp.cluster.test.": f"0 0 {STORE_PORT} localhost.",
        "_other._tcp.cluster.test.": "0 0 27017 db1.test.",
    }

    def serve() -> None:
        while True:
            try:
                data, peer = sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            record = records.get(question.name.to_text())
            if question.rdtype == dns.rdatatype.SRV and record:
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "SRV", record))
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(response.to_wire(), peer)

    threading.Thread(target=serve, daemon=True).start()
    yield int(sock.getsockname()[1])
    sock.close()


async def test_srv_records_are_followed_to_every_host(dns_server: int) -> None:
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = dns_server
    policy = _policy(resolver=resolver)
    with pytest.raises(PolicyRefusal, match=rf"localhost:{STORE_PORT} \(127\.0\.0\.1:{STORE_PORT}\) is the appliance"):
        await policy.check("mongodb", "mongodb+srv://cluster.test/x")
    # srvServiceName picks another record: its host does not resolve, which is said so.
    with pytest.raises(TargetError, match=r'could not translate host name "db1\.test"'):
        await policy.check("mongodb", "mongodb+srv://cluster.test/x?srvServiceName=other")
    with pytest.raises(TargetError, match=r"Could not resolve the SRV record of missing\.test"):
        await policy.check("mongodb", "mongodb+srv://missing.test/x")


def test_rules_parse_every_documented_form() -> None:
    assert Rule.parse("db.internal").name == "db.internal"
    assert Rule.parse("DB.Internal.:5433") == Rule("DB.Internal.:5433", name="db.internal", port=5433)
    assert Rule.parse("10.0.0.0/8").network == ipaddress.ip_network("10.0.0.0/8")
    assert Rule.parse("[::1]:5432") == Rule("[::1]:5432", network=ipaddress.ip_network("::1/128"), port=5432)
    assert Rule.parse("fd00::/8").network == ipaddress.ip_network("fd00::/8")
    assert Rule.parse("/var/run/postgresql").directory == "/var/run/postgresql"
    for bad in ("db.internal:http", "bad host", "[::1]x", "host:70000"):
        with pytest.raises(ValueError, match="connection policy entry"):
            Rule.parse(bad)


def test_ipv6_forms_carrying_ipv4_are_checked_as_ipv4() -> None:
    v4 = ipaddress.ip_address("169.254.169.254")
    for spelled in ("::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "::a9fe:a9fe"):
        assert v4 in variants(ipaddress.ip_address(spelled))
    assert variants(ipaddress.ip_address("::1")) == {ipaddress.ip_address("::1")}


async def test_an_allow_list_admits_only_what_it_names() -> None:
    policy = _policy(allow=["127.0.0.1:5432", "/var/run/postgresql"])
    assert (await policy.check("postgres", "postgresql://u@[::1]:5432/db")).tcp  # the same machine
    assert (await policy.check("postgres", "postgresql://u@/db?host=/var/run/postgresql/")).sockets
    for url in (
        "postgresql://u@127.0.0.1:5433/db",
        "postgresql://u@/db?host=/tmp",
        "postgresql://u@/db?host=@abstract",
    ):
        with pytest.raises(PolicyRefusal, match="CONNECTION_ALLOW"):
            await policy.check("postgres", url)
