"""Which addresses outbound fetches may reach: public ones, and private ones the operator named.

A repository URL, a chart dependency's repository, an index's archive URL or a registry's
token realm is chosen by whoever writes to a Git repository. Left open, the worker would
fetch from its own loopback services (Redis, the API), the cluster network, or the cloud's
metadata endpoint on behalf of that person, and show what answered. So every outbound
connection is checked here after DNS resolution, and made to the very address checked (no
second lookup a rebinding DNS server could answer differently):

- refused: loopback, link-local (169.254.0.0/16 holds the cloud metadata endpoints),
  private (RFC 1918, fc00::/7), shared (100.64.0.0/10), unspecified, multicast, reserved,
  and IPv6 forms that embed such an IPv4 address (mapped, NAT64, 6to4, Teredo);
- allowed anyway: entries of RECONCILER_ALLOWED_PRIVATE_HOSTS (comma-separated `host`,
  `host:port`, `[v6]:port` or CIDR; a host name matches the name in the URL, an address or
  CIDR the address it resolved to) and the hosts of RECONCILER_REPO_<N>_URL (the operator
  configured those repositories).

`file://` and local paths are no network fetch: RECONCILER_LOCAL_REPO_ROOTS alone governs them.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from reconciler.core.errors import InputError

ALLOW_VARIABLE = "RECONCILER_ALLOWED_PRIVATE_HOSTS"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Metadata endpoints outside the link-local range (Alibaba Cloud; AWS over IPv6).
_METADATA = (ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254"))
_REPO_URL_KEY = re.compile(r"^RECONCILER_REPO_[A-Za-z0-9_]+?_URL$")
_SCP_HOST = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/\[\]]+|\[[^\]]+\]):(?!//)")


class OutboundRefused(InputError):
    """A connection this policy does not allow; the message says why and what to set."""


class AllowListError(InputError, ValueError):
    """RECONCILER_ALLOWED_PRIVATE_HOSTS holds an entry that cannot be read."""


def refusal_reason(ip: IPAddress) -> str:
    """Why `ip` is not a public address ("" when it is)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = refusal_reason(embedded)
            return f"{inner} (inside the IPv6 address)" if inner else ""
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return ""


@dataclass(frozen=True)
class AllowEntry:
    """One entry of the allow-list: a host name or a network, with or without a port."""

    host: str = ""  # a name, lower case
    network: IPNetwork | None = None
    port: int | None = None

    def matches(self, host: str, port: int, ip: IPAddress) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return ip in self.network
        return self.host == host


def _entry(text: str) -> AllowEntry:
    try:
        return AllowEntry(network=ipaddress.ip_network(text, strict=False))
    except ValueError:
        pass
    host, port = text, None
    bracketed = re.fullmatch(r"\[(?P<host>[^\]]+)\](?::(?P<port>\d+))?", text)
    if bracketed:
        host, port = bracketed["host"], int(bracketed["port"]) if bracketed["port"] else None
    elif text.count(":") == 1:
        host, raw_port = text.split(":")
        if not raw_port.isdigit():
            raise AllowListError(f"{ALLOW_VARIABLE} entry {text!r} has a port that is not a number")
        port = int(raw_port)
    if not host or "/" in host or " " in host:
        raise AllowListError(f"{ALLOW_VARIABLE} entry {text!r} is not a host, host:port or CIDR")
    try:
        return AllowEntry(network=ipaddress.ip_network(host), port=port)
    except ValueError:
        return AllowEntry(host=host.lower().rstrip("."), port=port)


def parse_allow_list(raw: str) -> tuple[AllowEntry, ...]:
    """The entries of RECONCILER_ALLOWED_PRIVATE_HOSTS; AllowListError naming a bad one."""
    return tuple(_entry(item.strip()) for item in raw.split(",") if item.strip())


def repo_url_host(url: str) -> str:
    """The host of a repository URL (https://, ssh://, scp-like `git@host:path`), lower case."""
    url = url.strip()
    if "://" not in url:
        match = _SCP_HOST.match(url)
        return match["host"].strip("[]").lower() if match else ""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class OutboundPolicy:
    """The allow-list, read from the environment (again whenever the variables change, so a
    long-lived worker and the tests that add a server follow them)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._cached: tuple[tuple[str, ...], tuple[AllowEntry, ...], frozenset[str]] | None = None

    def _rules(self) -> tuple[tuple[AllowEntry, ...], frozenset[str]]:
        env = os.environ if self._environ is None else self._environ
        repo_urls = tuple(sorted(value for key, value in env.items() if _REPO_URL_KEY.match(key)))
        raw = (env.get(ALLOW_VARIABLE, ""), *repo_urls)
        if self._cached is None or self._cached[0] != raw:
            named = frozenset(host for host in map(repo_url_host, repo_urls) if host)
            self._cached = (raw, parse_allow_list(raw[0]), named)
        return self._cached[1], self._cached[2]

    def permits(self, host: str, port: int, ip: IPAddress) -> str:
        """"" when a connection to `ip` (resolved from `host`) on `port` may be made, else why not."""
        reason = refusal_reason(ip)
        if not reason:
            return ""
        entries, named = self._rules()
        name = host.lower().rstrip(".").strip("[]")
        if name in named or any(entry.matches(name, port, ip) for entry in entries):
            return ""
        return reason

    def addresses(self, host: str, port: int) -> list[tuple[socket.AddressFamily, str]]:
        """(family, address) to connect to for `host`:`port`: every address it resolves to that
        the policy permits. Raises OutboundRefused when it resolves to none that is permitted,
        OSError (socket.gaierror) when it does not resolve."""
        name = host.strip("[]")
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        allowed: list[tuple[socket.AddressFamily, str]] = []
        refused: list[str] = []
        for family, _, _, _, sockaddr in infos:
            address = str(sockaddr[0]).split("%")[0]
            reason = self.permits(name, port, ipaddress.ip_address(address))
            if reason:
                refused.append(f"{address}, {reason}")
            elif (family, str(sockaddr[0])) not in allowed:
                allowed.append((family, str(sockaddr[0])))
        if not allowed:
            where = f"[{name}]:{port}" if ":" in name else f"{name}:{port}"
            raise OutboundRefused(
                f"{where} is refused: it resolves to {refused[0]}; outbound fetches may not reach "
                f"loopback, link-local, private or metadata addresses unless {ALLOW_VARIABLE} allows the host "
                f"(e.g. {ALLOW_VARIABLE}={where}) or a RECONCILER_REPO_<N>_URL names it"
            )
        return allowed

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        """A TCP connection to `host`:`port` at an address the policy permits (the one checked)."""
        last: OSError | None = None
        for family, address in self.addresses(host, port):
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect((address, port))
                return sock
            except OSError as exc:
                sock.close()
                last = exc
        assert last is not None
        raise last
