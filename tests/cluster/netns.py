"""Network namespaces for the replica tests: one bridge, one namespace per host, veth pairs.

Layout (all names start with ``sxc-``, all addresses in 10.231.0.0/24):

- the bridge ``sxc-br0`` lives in the root namespace and carries ``10.231.0.1`` there, so the
  test process (fake Ollama, the user's database forwarder, the HTTP client) is one more host;
- each host ``sxc-<name>`` gets a veth pair: ``sxv-<name>`` on the bridge, ``eth0`` inside
  with the host's address, and its own loopback.

Everything here shells out to iproute2 (and iptables for ``Partition``) and needs root.
``clean_leftovers`` removes what an earlier run left (processes inside the namespaces, the
namespaces, the bridge), so a crashed run never blocks the next one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

PREFIX = "sxc-"
BRIDGE = "sxc-br0"
SUBNET = "10.231.0"
ROOT_ADDRESS = f"{SUBNET}.1"


def missing_tools() -> str | None:
    """Why the namespace tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root (ip netns, veth pairs and a bridge)"
    for tool in ("ip", "nginx", "setpriv"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            return f"needs {tool} (scripts/install-system-deps.sh installs it)"
    probe = f"{PREFIX}probe"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str, namespace: str | None = None) -> None:
    command = ["ip", *args] if namespace is None else ["ip", "-n", namespace, *args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")


def namespaces() -> list[str]:
    """This suite's namespaces that exist now."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in listed.splitlines() if line.startswith(PREFIX)]


def pids_in(namespace: str) -> list[int]:
    listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout
    return [int(p) for p in listed.split()]


def clean_leftovers() -> None:
    """Kill the processes inside this suite's namespaces (only those: found by namespace, one
    pid at a time), then delete the namespaces and the bridge. Safe when nothing is left."""
    for namespace in namespaces():
        for pid in pids_in(namespace):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while any(pids_in(n) for n in namespaces()) and time.monotonic() < deadline:
        time.sleep(0.05)
    for namespace in namespaces():
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
    # Deleting a namespace deletes its end of each veth, and with it the peer on the bridge.
    subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)
    for link in subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout.splitlines():
        name = link.split(":")[1].strip().split("@")[0]
        if name.startswith("sxv-"):
            subprocess.run(["ip", "link", "del", name], capture_output=True)


@dataclass(frozen=True)
class Host:
    """One namespace with one address on the bridge."""

    name: str
    address: str

    @property
    def namespace(self) -> str:
        return PREFIX + self.name

    @property
    def veth(self) -> str:
        """The bridge's end of this host's link (in the root namespace)."""
        return "sxv-" + self.name

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside this host's namespace (``ip netns exec`` execs, so the pid is argv's)."""
        return ["ip", "netns", "exec", self.namespace, *argv]


def make_network(hosts: Sequence[Host], extra_root_addresses: Sequence[str] = ()) -> None:
    """The bridge with ``ROOT_ADDRESS`` (and ``extra_root_addresses``) and every host on it."""
    _ip("link", "add", BRIDGE, "type", "bridge")
    _ip("addr", "add", f"{ROOT_ADDRESS}/24", "dev", BRIDGE)
    for address in extra_root_addresses:
        _ip("addr", "add", f"{address}/32", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")
    for host in hosts:
        _ip("netns", "add", host.namespace)
        _ip("link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
        _ip("link", "set", host.veth, "master", BRIDGE)
        _ip("link", "set", host.veth, "up")
        _ip("link", "set", "lo", "up", namespace=host.namespace)
        _ip("addr", "add", f"{host.address}/24", "dev", "eth0", namespace=host.namespace)
        _ip("link", "set", "eth0", "up", namespace=host.namespace)


class Partition:
    """Drops every packet between ``host`` and ``peer`` inside ``host``'s namespace (iptables),
    as a network that loses them: nothing is refused, so TCP waits as it would in a real cut."""

    def __init__(self, host: Host, peer: str):
        self._host = host
        self._rules = [["OUTPUT", "-d", peer, "-j", "DROP"], ["INPUT", "-s", peer, "-j", "DROP"]]

    @staticmethod
    def iptables() -> str | None:
        found = shutil.which("iptables")
        return found or ("/usr/sbin/iptables" if os.path.exists("/usr/sbin/iptables") else None)

    def _iptables(self, action: str, rule: list[str]) -> None:
        command = self._host.command([self.iptables() or "iptables", "-w", action, *rule])
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")

    def cut(self) -> None:
        for rule in self._rules:
            self._iptables("-I", rule)

    def heal(self) -> None:
        for rule in self._rules:
            self._iptables("-D", rule)
