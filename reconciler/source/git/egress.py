"""Git's network connections, checked at connect time by the outbound policy.

git runs as a program, so its connections cannot be checked inside our process the way
httpx's are. Two ways in, one per transport:

- http(s): git is pointed at a SOCKS5 proxy this process runs on 127.0.0.1
  (`http.proxy=socks5h://...`, handed over in GIT_CONFIG_* variables, never on a command
  line). With `socks5h` curl leaves name resolution to the proxy: the proxy resolves the
  host, refuses addresses the policy forbids and connects to the address it checked, for
  the first request and for every redirect. Chosen over pinning addresses with
  `http.curloptResolve`, which curl ignores for a redirect to another host, and over an
  HTTP CONNECT proxy, which plain-http URLs would not tunnel through. The proxy wants a
  password only this process knows; each git call gets its own user name, so a refusal is
  told back to that call (`refusal(call)`) in our words.
- ssh: the host is resolved and checked here, and ssh is told to connect to that address
  (`-o Hostname=<address>`, with `HostKeyAlias` keeping known_hosts keyed by name, and no
  ProxyCommand/ProxyJump from any ssh config).
"""

from __future__ import annotations

import contextlib
import secrets
import shlex
import socket
import struct
import threading
from urllib.parse import urlsplit

from reconciler.core.outbound import OutboundPolicy, OutboundRefused
from reconciler.core.urls import DEFAULT_PORTS

CONNECT_TIMEOUT_SECONDS = 30.0
_SOCKS_VERSION = 5
_USER_PASSWORD = 2
_NO_METHOD = 0xFF
_REPLY_OK, _REPLY_FAILURE, _REPLY_NOT_ALLOWED, _REPLY_UNREACHABLE, _REPLY_COMMAND = 0, 1, 2, 4, 7
_MAX_REFUSALS = 256


class EgressProxy:
    """A SOCKS5 proxy on a loopback port, for the git processes of this process only."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self._password = secrets.token_hex(16)
        self._refusals: dict[str, str] = {}
        self._guard = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, name="git-egress-proxy", daemon=True).start()

    # -- what git is given -------------------------------------------------------------

    def git_environment(self, call: str) -> dict[str, str]:
        """Variables that make one git call (named `call`) use this proxy, and nothing else."""
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.proxy",
            "GIT_CONFIG_VALUE_0": f"socks5h://{call}:{self._password}@127.0.0.1:{self.port}",
            # curl reads these even for a configured proxy: no host may bypass it.
            "NO_PROXY": "",
            "no_proxy": "",
        }

    def refusal(self, call: str) -> str:
        """Why the proxy refused a connection of git call `call` ("" when it refused none)."""
        with self._guard:
            return self._refusals.pop(call, "")

    def close(self) -> None:
        self._closed = True
        self._server.close()

    # -- the proxy ---------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), name="git-egress", daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            client.settimeout(CONNECT_TIMEOUT_SECONDS)
            call = self._authenticate(client)
            if call is None:
                return
            host, port = self._request(client)
            if host is None:
                return
            try:
                upstream = self.policy.connect(host, port, CONNECT_TIMEOUT_SECONDS)
            except OutboundRefused as refused:
                self._remember(call, str(refused))
                client.sendall(_reply(_REPLY_NOT_ALLOWED))
                return
            except OSError:
                client.sendall(_reply(_REPLY_UNREACHABLE))
                return
            client.sendall(_reply(_REPLY_OK))
            client.settimeout(None)
            upstream.settimeout(None)
            _pipe(client, upstream)
        except OSError:
            return
        finally:
            client.close()
            if upstream is not None:
                upstream.close()

    def _authenticate(self, client: socket.socket) -> str | None:
        version, count = _read(client, 2)
        methods = _read(client, count)
        if version != _SOCKS_VERSION or _USER_PASSWORD not in methods:
            client.sendall(bytes([_SOCKS_VERSION, _NO_METHOD]))
            return None
        client.sendall(bytes([_SOCKS_VERSION, _USER_PASSWORD]))
        _, user_length = _read(client, 2)
        user = _read(client, user_length).decode(errors="replace")
        (password_length,) = _read(client, 1)
        password = _read(client, password_length).decode(errors="replace")
        if not secrets.compare_digest(password, self._password):
            client.sendall(b"\x01\x01")
            return None
        client.sendall(b"\x01\x00")
        return user

    def _request(self, client: socket.socket) -> tuple[str | None, int]:
        version, command, _, kind = _read(client, 4)
        if kind == 1:
            host = socket.inet_ntop(socket.AF_INET, _read(client, 4))
        elif kind == 4:
            host = socket.inet_ntop(socket.AF_INET6, _read(client, 16))
        elif kind == 3:
            host = _read(client, _read(client, 1)[0]).decode("idna")
        else:
            client.sendall(_reply(_REPLY_FAILURE))
            return None, 0
        (port,) = struct.unpack(">H", _read(client, 2))
        if version != _SOCKS_VERSION or command != 1:  # CONNECT only
            client.sendall(_reply(_REPLY_COMMAND))
            return None, 0
        return host, port

    def _remember(self, call: str, reason: str) -> None:
        with self._guard:
            if len(self._refusals) >= _MAX_REFUSALS:
                self._refusals.pop(next(iter(self._refusals)))
            self._refusals.setdefault(call, reason)


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("the client closed the connection")
        data += chunk
    return data


def _reply(code: int) -> bytes:
    return bytes([_SOCKS_VERSION, code, 0, 1, 0, 0, 0, 0, 0, 0])


def _pipe(left: socket.socket, right: socket.socket) -> None:
    """Copy both ways until either side closes."""

    def copy(source: socket.socket, target: socket.socket) -> None:
        how = socket.SHUT_WR  # the end of one direction is passed on; the other goes on
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            how = socket.SHUT_RDWR
        with contextlib.suppress(OSError):
            target.shutdown(how)

    other = threading.Thread(target=copy, args=(right, left), daemon=True)
    other.start()
    copy(left, right)
    other.join()


def ssh_pinning(policy: OutboundPolicy, url: str) -> list[str]:
    """ssh options that connect to a checked address of the URL's host (OutboundRefused when
    none is allowed), for an ssh:// or scp-like URL."""
    if "://" in url:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or DEFAULT_PORTS["ssh"]
    else:
        host = url.split("@", 1)[-1].split(":", 1)[0].strip("[]")
        port = DEFAULT_PORTS["ssh"]
    _, address = policy.addresses(host, port)[0]
    return ["-o", f"Hostname={address}", "-o", f"HostKeyAlias={host}", "-o", "CheckHostIP=no",
            "-o", "ProxyCommand=none", "-o", "ProxyJump=none"]  # fmt: skip


def with_ssh_options(ssh_command: str, options: list[str]) -> str:
    """GIT_SSH_COMMAND with `options` added after `ssh`."""
    parts = shlex.split(ssh_command)
    return shlex.join([parts[0], *options, *parts[1:]])


class GitEgress:
    """What one GitSource's git calls need to reach only allowed addresses: the proxy (started
    on first use) for http(s), the pinned address for ssh, nothing for local repositories."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self._proxy: EgressProxy | None = None
        self._guard = threading.Lock()

    def environment(self, url: str, ssh_command: str) -> tuple[str, dict[str, str]]:
        """(the call's name at the proxy or "", variables for git) for one call on `url`.
        Raises OutboundRefused for an ssh host with no allowed address, OSError when it does not resolve."""
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme in ("http", "https"):
            call = secrets.token_hex(8)
            return call, self._started().git_environment(call)
        if scheme in ("ssh", "git+ssh", "ssh+git") or (not scheme and not url.startswith("/")):
            return "", {"GIT_SSH_COMMAND": with_ssh_options(ssh_command, ssh_pinning(self.policy, url))}
        return "", {}

    def refusal(self, call: str) -> str:
        with self._guard:
            proxy = self._proxy
        return proxy.refusal(call) if call and proxy is not None else ""

    def _started(self) -> EgressProxy:
        with self._guard:
            if self._proxy is None:
                self._proxy = EgressProxy(self.policy)
            return self._proxy

    def close(self) -> None:
        with self._guard:
            if self._proxy is not None:
                self._proxy.close()
                self._proxy = None
