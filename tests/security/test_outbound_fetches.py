"""Issue 22, case 5: no server-side request forgery. A repository writer chooses URLs the worker
fetches (a Git repoURL, a chart dependency's repository, an index's archive URL, a redirect): none
reaches a loopback, private, link-local or metadata address unless RECONCILER_ALLOWED_PRIVATE_HOSTS
allows it, the check is made on the address a name resolved to, at connect time, for every
redirect too; sourceRepos covers chart dependencies; and what a remote service answered never
shows in an error (a condition, readable by read-only tokens).

Real servers on loopback (a Helm repository, a Git HTTP server, raw TCP services), the real Git
source, chart client and renderer; the allow-list is the operator's variable."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.engine.pipeline import desired
from reconciler.model import Application, AppProject, parse_manifests
from reconciler.source.git.client import GitError, GitSource
from reconciler.source.helm import ChartFetchError, ChartRepositories
from reconciler.source.render import RenderError
from reconciler.source.render.helm import render_helm
from tests.conftest import GitRepo, allow_private_hosts, fixture_files
from tests.helm_servers import HelmRepository
from tests.security.conftest import LoopbackService

SECRET = "SECRET-BANNER-7f3a"


@pytest.fixture
def chart_server(tmp_path: Path) -> Iterator[HelmRepository]:
    """A Helm repository on loopback that nothing allows yet (the shared fixture would allow it)."""
    (tmp_path / "served-charts").mkdir()
    repository = HelmRepository(tmp_path / "served-charts")
    repository.add("greeting", "1.2.0")
    yield repository
    repository.close()


def port_of(url: str) -> int:
    return int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def umbrella(tree: Path, repository: str) -> Path:
    files = fixture_files("charts/umbrella", under="charts/umbrella") | fixture_files("charts/local", "charts/local")
    files["charts/umbrella/Chart.yaml"] = files["charts/umbrella/Chart.yaml"].replace("REPOSITORY", repository)
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    return tree / "charts/umbrella"


def test_a_chart_dependency_on_a_loopback_repository_is_refused_unless_allowed(
    tmp_path: Path, chart_server: HelmRepository
) -> None:
    chart = umbrella(tmp_path / "tree", chart_server.url)
    charts = ChartRepositories(tmp_path / "cache")

    with pytest.raises(RenderError) as refused:
        render_helm(tmp_path / "tree", chart, None, release_name="u", namespace="u", charts=charts)
    assert "dependency 'greeting'" in str(refused.value) and "RECONCILER_ALLOWED_PRIVATE_HOSTS" in str(refused.value)
    assert "a loopback address" in str(refused.value) and refused.value.file == "charts/umbrella/Chart.yaml"
    assert chart_server.requests == []

    with allow_private_hosts(f"127.0.0.1:{port_of(chart_server.url)}"):
        rendered = render_helm(tmp_path / "tree", chart, None, release_name="u", namespace="u", charts=charts)
    assert "u-greeting" in [m.obj["metadata"]["name"] for m in rendered]
    charts.close()


def app_and_project(repo_url: str, path: str, source_repos: list[str]) -> tuple[Application, AppProject]:
    documents = parse_manifests(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: team, namespace: argocd}\n"
        f"spec:\n  sourceRepos: {source_repos!r}\n  destinations: [{{server: '*', namespace: '*'}}]\n---\n"
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: umbrella, namespace: argocd}\n"
        f"spec:\n  project: team\n  source: {{repoURL: '{repo_url}', targetRevision: main, path: {path}}}\n"
        "  destination: {server: 'https://kubernetes.default.svc', namespace: umbrella}\n",
        source_file="test.yaml",
    )
    project = next(d for d in documents if isinstance(d, AppProject))
    app = next(d for d in documents if isinstance(d, Application))
    return app, project


def test_a_chart_dependency_from_a_repository_the_project_does_not_list_in_source_repos_is_not_fetched(
    tmp_path: Path, chart_server: HelmRepository, git_repo_factory: Callable[..., GitRepo]
) -> None:
    tree = tmp_path / "files"
    umbrella(tree, chart_server.url)
    repo = git_repo_factory({str(p.relative_to(tree)): p.read_text() for p in tree.rglob("*") if p.is_file()})
    app, project = app_and_project(repo.url, "charts/umbrella", [repo.url])
    with (
        allow_private_hosts(f"127.0.0.1:{port_of(chart_server.url)}"),  # only the project stands in the way
        GitSource(tmp_path / "git") as git,
        pytest.raises(RenderError, match=r'dependency .greeting.* is not permitted in project "team"'),
    ):
        desired(app, project, git, charts=ChartRepositories(tmp_path / "cache"))
    assert chart_server.requests == []

    app, project = app_and_project(repo.url, "charts/umbrella", [repo.url, chart_server.url])
    with allow_private_hosts(f"127.0.0.1:{port_of(chart_server.url)}"), GitSource(tmp_path / "git") as git:
        state = desired(app, project, git, charts=ChartRepositories(tmp_path / "cache"))
    assert "umbrella-greeting" in [obj["metadata"]["name"] for obj in state.objects]


@pytest.fixture
def git_over_http(git_repo_factory: Callable[..., GitRepo], tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A repository served over git's dumb HTTP protocol on loopback (not allowed): (URL, requests seen)."""
    repo = git_repo_factory({"app/cm.yaml": "kind: ConfigMap\n"}, name="served")
    served = tmp_path / "www"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(served / "repo.git")], check=True)
    subprocess.run(["git", "-C", str(served / "repo.git"), "update-server-info"], check=True)
    seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/repo.git", seen
    server.shutdown()
    server.server_close()


def test_a_git_repository_on_loopback_or_a_name_for_it_is_refused_unless_allowed(
    tmp_path: Path, git_over_http: tuple[str, list[str]]
) -> None:
    url, seen = git_over_http
    port = port_of(url)
    with GitSource(tmp_path / "git") as git:
        for refused_url in (url, url.replace("127.0.0.1", "localhost")):  # the name is resolved, then checked
            with pytest.raises(GitError, match=r"resolves to 127\.0\.0\.1, a loopback address") as caught:
                git.resolve(refused_url, "main")
            assert "RECONCILER_ALLOWED_PRIVATE_HOSTS" in str(caught.value)
        assert seen == []
        with allow_private_hosts(f"127.0.0.1:{port}"):
            assert len(git.resolve(url, "main")) == 40


class Redirecting(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def redirector() -> Iterator[Callable[[str], str]]:
    """`redirect(target)`: the URL of a server on loopback that sends every request on to `target`."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def redirect(target: str) -> str:
        handler = type("To", (Redirecting,), {"target": target.rstrip("/")})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield redirect
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_redirect_from_an_allowed_host_to_loopback_is_refused_at_connect_time(
    tmp_path: Path, chart_server: HelmRepository, git_over_http: tuple[str, list[str]],
    redirector: Callable[[str], str],
) -> None:
    git_url, seen = git_over_http
    chart_front = redirector(chart_server.url.removesuffix("/charts"))
    git_front = redirector(git_url.removesuffix("/repo.git"))
    with allow_private_hosts(f"127.0.0.1:{port_of(chart_front)}", f"127.0.0.1:{port_of(git_front)}"):
        charts = ChartRepositories(tmp_path / "cache")
        with pytest.raises(ChartFetchError, match=rf"127\.0\.0\.1:{port_of(chart_server.url)} is refused"):
            charts.resolve(f"{chart_front}/charts", "greeting", "1.*")
        charts.close()
        with GitSource(tmp_path / "git") as git, pytest.raises(GitError) as caught:
            git.resolve(f"{git_front}/repo.git", "main")
        assert f"127.0.0.1:{port_of(git_url)} is refused" in str(caught.value)
    assert chart_server.requests == [] and seen == []


@pytest.fixture
def banners() -> Iterator[list[LoopbackService]]:
    """Services on loopback (a Redis, an internal page, an SSH daemon) that say something secret."""
    services = [
        LoopbackService(f"-ERR {SECRET} unknown command\r\n".encode()),  # not HTTP at all
        LoopbackService(
            f"HTTP/1.1 500 {SECRET}\r\nContent-Length: 22\r\nConnection: close\r\n\r\n{SECRET}-body".encode()
        ),
        LoopbackService(f"SSH-2.0-{SECRET}\r\n".encode()),
    ]
    with allow_private_hosts(*(f"127.0.0.1:{service.port}" for service in services)):
        yield services
    for service in services:
        service.close()


@pytest.mark.timeout(120)
def test_what_a_remote_service_answers_never_appears_in_an_error(
    tmp_path: Path, banners: list[LoopbackService]
) -> None:
    errors: list[str] = []
    charts = ChartRepositories(tmp_path / "cache")
    with GitSource(tmp_path / "git", timeout_seconds=20) as git:
        for service in banners:
            base = f"127.0.0.1:{service.port}"
            for fetch, url in (
                (charts.resolve, f"http://{base}/charts"),
                (charts.resolve, f"oci://{base}/charts"),
                (git.resolve, f"http://{base}/org/repo.git"),
                (git.resolve, f"ssh://git@{base}/org/repo.git"),
            ):
                with pytest.raises((ChartFetchError, GitError)) as caught:
                    fetch(url, *(("greeting", "*") if fetch == charts.resolve else ("main",)))
                errors.append(str(caught.value))
    charts.close()
    assert all(SECRET not in error for error in errors), errors
    assert any("HTTP 500 (Internal Server Error)" in error for error in errors)
    assert any("did not answer in HTTP" in error for error in errors)


@pytest.mark.timeout(120)
def test_oci_registries_metadata_addresses_and_other_spellings_of_loopback_are_refused_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECONCILER_ALLOWED_PRIVATE_HOSTS", raising=False)
    service = LoopbackService(b"SSH-2.0-OpenSSH_9\r\n")
    port = service.port
    charts = ChartRepositories(tmp_path / "cache")
    chart_urls = [f"oci://127.0.0.1:{port}/charts", f"oci://localhost:{port}/charts", "oci://169.254.169.254/charts",
                  f"http://[::1]:{port}/charts", f"http://0x7f000001:{port}/charts", f"http://2130706433:{port}/charts"]
    git_urls = [f"ssh://git@127.0.0.1:{port}/org/repo.git", "git@localhost:org/repo.git",
                f"http://0177.0.0.1:{port}/r.git", f"http://[::ffff:127.0.0.1]:{port}/r.git"]
    refused: list[str] = []
    for url in chart_urls:
        with pytest.raises(ChartFetchError) as caught:
            charts.resolve(url, "x", "*")
        refused.append(str(caught.value))
    with GitSource(tmp_path / "git", timeout_seconds=10) as git:
        for url in git_urls:
            with pytest.raises(GitError) as caught:
                git.resolve(url, "main")
            refused.append(str(caught.value))
    charts.close()
    service.close()
    assert all("is refused: it resolves to" in message for message in refused), refused
    assert service.connections == 0
