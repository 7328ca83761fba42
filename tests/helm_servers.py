"""Real Helm repositories for tests: an HTTP chart repository and an OCI registry.

- HelmRepository: a local HTTP server over a folder of charts packaged from
  tests/fixtures/charts with helm_python.package, its index.yaml made by
  helm_python.repo_index_generate; optionally behind HTTP basic auth.
- OciRegistry: Debian's `docker-registry` (the CNCF distribution registry) on a free
  port, charts pushed with helm_python.push. `make test` installs it where it can;
  where it is missing the tests using it are skipped with the reason.
"""

from __future__ import annotations

import base64
import functools
import http.server
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import allow_private_hosts

CHARTS = Path(__file__).resolve().parent / "fixtures" / "charts"
REGISTRY_BINARY = "docker-registry"


def package_chart(name: str, version: str, destination: Path, *, replace: dict[str, str] | None = None) -> Path:
    """tests/fixtures/charts/`name` packaged at `version` into `destination`."""
    import helm_python

    work = destination / ".work" / f"{name}-{version}"
    shutil.copytree(CHARTS / name, work)
    for file, (old, new) in ((work / "Chart.yaml", pair) for pair in (replace or {}).items()):
        file.write_text(file.read_text().replace(old, new))
    archive = Path(helm_python.package(work, destination=destination, version=version))
    shutil.rmtree(work)
    return archive


class _Handler(http.server.SimpleHTTPRequestHandler):
    expected_auth: str | None = None
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.expected_auth and self.headers.get("Authorization") != self.expected_auth:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="charts"')
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HelmRepository:
    def __init__(self, root: Path, username: str = "", password: str = "") -> None:
        self.root = root
        self.username, self.password = username, password
        self.requests: list[str] = []
        auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode() if username else None
        handler = type("Handler", (_Handler,), {"expected_auth": auth, "requests": self.requests})
        self._server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}/charts"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def add(self, name: str, *versions: str, base_url: str | None = None) -> None:
        """Package `name` at `versions` and index the folder; `base_url` makes the index's
        chart URLs absolute (another host name for the same server, say)."""
        import helm_python

        folder = self.root / "charts"
        folder.mkdir(exist_ok=True)
        for version in versions:
            package_chart(name, version, folder)
        helm_python.repo_index_generate(folder, base_url=base_url)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def helm_repository(root: Path, username: str = "", password: str = "") -> Iterator[HelmRepository]:
    root.mkdir(parents=True, exist_ok=True)
    repository = HelmRepository(root, username, password)
    port = repository.url.split(":")[2].split("/")[0]
    try:
        # Its index may name archives under "localhost" too (the split-host tests).
        with allow_private_hosts(f"127.0.0.1:{port}", f"localhost:{port}"):
            yield repository
    finally:
        repository.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OciRegistry:
    def __init__(self, url: str, username: str = "", password: str = "", logins: Path | None = None) -> None:
        self.url = url  # oci://127.0.0.1:PORT/charts
        self.username, self.password, self.logins = username, password, logins

    def push(self, archive: Path) -> None:
        import helm_python

        with helm_python.RegistryClient(plain_http=True, credentials_file=self.logins) as client:
            if self.username:
                host = self.url.removeprefix("oci://").split("/")[0]
                client.login(host, self.username, self.password, plain_http=True)
            helm_python.push(archive, self.url, client=client, plain_http=True)


def _htpasswd(username: str, password: str) -> str:
    """An htpasswd line with a bcrypt hash (the registry accepts no other), from libxcrypt."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        return f"{username}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n"


@contextmanager
def oci_registry(root: Path, username: str = "", password: str = "") -> Iterator[OciRegistry]:
    """The registry on a free port; with `username`, behind htpasswd basic auth."""
    binary = shutil.which(REGISTRY_BINARY) or shutil.which(REGISTRY_BINARY, path="/usr/bin:/usr/sbin")
    if binary is None:
        pytest.skip("no OCI registry: Debian's docker-registry is not installed (`make test` installs it as root)")
    port = _free_port()
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    auth = ""
    if username:
        (root / "htpasswd").write_text(_htpasswd(username, password))
        auth = f"auth: {{htpasswd: {{realm: charts, path: {root / 'htpasswd'}}}}}\n"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n" + auth
    )
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                reason = process.stderr.read().decode()[-500:] if process.stderr else ""
                pytest.skip(f"docker-registry did not start: {reason}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        with allow_private_hosts(f"127.0.0.1:{port}"):
            yield OciRegistry(f"oci://127.0.0.1:{port}/charts", username, password, root / "logins.json")
    finally:
        process.terminate()
        process.wait(timeout=10)
