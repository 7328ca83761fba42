"""The Git source against real repositories: file://, git:// (git daemon) and HTTP with basic auth."""

from __future__ import annotations

import base64
import functools
import multiprocessing
import os
import re
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from reconciler.source.git.client import GitError, GitSource, PathEscapeError, PathNotFoundError, RepoCredentials
from reconciler.source.git.credentials import CredentialStore
from tests.conftest import allow_private_hosts

HTTP_USER = "deploy"
HTTP_TOKEN = "s3cr3t-t0ken-value"


@pytest.fixture
def source(tmp_path: Path) -> Iterator[GitSource]:
    with GitSource(tmp_path / "cache", ref_cache_ttl=60.0) as git_source:
        yield git_source


@pytest.fixture
def repo(git_repo_factory: Callable[..., Any]) -> Any:
    return git_repo_factory({"apps/web/deploy.yaml": "kind: ConfigMap\n"}, name="config")


# -- revision forms ---------------------------------------------------------------------


def test_resolve_head_gives_the_default_branch_commit(source: GitSource, repo: Any) -> None:
    assert source.resolve(repo.url, "HEAD") == repo.head()


def test_resolve_empty_revision_means_head(source: GitSource, repo: Any) -> None:
    assert source.resolve(repo.url, "") == repo.head()


def test_resolve_branch_name_gives_its_tip(source: GitSource, repo: Any) -> None:
    repo.git("checkout", "-q", "-b", "staging")
    staging = repo.commit({"staging.txt": "x"})
    repo.git("checkout", "-q", "main")
    assert source.resolve(repo.url, "staging") == staging


def test_resolve_lightweight_tag_gives_its_commit(source: GitSource, repo: Any) -> None:
    repo.git("tag", "v1.0.0")
    assert source.resolve(repo.url, "v1.0.0") == repo.head()


def test_resolve_annotated_tag_gives_the_commit_not_the_tag_object(source: GitSource, repo: Any) -> None:
    repo.git("tag", "-a", "v2.0.0", "-m", "release")
    tag_object = repo.git("rev-parse", "v2.0.0")
    resolved = source.resolve(repo.url, "v2.0.0")
    assert resolved == repo.head()
    assert resolved != tag_object


def test_resolve_full_branch_ref_name(source: GitSource, repo: Any) -> None:
    assert source.resolve(repo.url, "refs/heads/main") == repo.head()


def test_resolve_full_tag_ref_name_is_peeled(source: GitSource, repo: Any) -> None:
    repo.git("tag", "-a", "v3", "-m", "release")
    assert source.resolve(repo.url, "refs/tags/v3") == repo.head()


def test_resolve_full_sha_of_an_older_commit(source: GitSource, repo: Any) -> None:
    old = repo.head()
    repo.commit({"later.txt": "x"})
    assert source.resolve(repo.url, old) == old


def test_resolve_short_sha_expands_to_the_full_sha(source: GitSource, repo: Any) -> None:
    old = repo.head()
    repo.commit({"later.txt": "x"})
    assert source.resolve(repo.url, old[:8]) == old


def test_resolve_prefers_a_branch_over_a_tag_of_the_same_name(source: GitSource, repo: Any) -> None:
    repo.git("tag", "release")
    repo.git("branch", "release")
    repo.git("checkout", "-q", "release")
    branch_tip = repo.commit({"r.txt": "x"})
    assert source.resolve(repo.url, "release") == branch_tip


def test_unknown_revision_error_names_revision_and_repository(source: GitSource, repo: Any) -> None:
    with pytest.raises(GitError) as caught:
        source.resolve(repo.url, "nope")
    message = f'revision "nope" not found in {repo.url}: no branch, tag or commit by that name'
    assert str(caught.value) == message


def test_unknown_full_sha_is_not_found(source: GitSource, repo: Any) -> None:
    with pytest.raises(GitError, match=re.escape(f'revision "{"0" * 40}" not found')):
        source.resolve(repo.url, "0" * 40)


def test_unreachable_repository_raises_git_error_naming_it(source: GitSource, tmp_path: Path) -> None:
    missing = (tmp_path / "no-such-repo").as_uri()
    with pytest.raises(GitError, match=re.escape(f"git ls-remote of {missing} failed")):
        source.resolve(missing, "HEAD")


def test_malformed_repository_url_raises_git_error(source: GitSource) -> None:
    with pytest.raises(GitError, match='repository URL "not-a-url" is not a URL'):
        source.resolve("not-a-url", "HEAD")


# -- ref listing cache and fetch policy -------------------------------------------------


def test_ten_resolves_within_the_ttl_make_one_ls_remote(source: GitSource, repo: Any) -> None:
    for _ in range(10):
        source.resolve(repo.url, "main")
    assert source.counters.total("ls-remote", repo.url).calls == 1


def test_resolves_of_branches_make_no_fetch(source: GitSource, repo: Any) -> None:
    for _ in range(10):
        source.resolve(repo.url, "main")
    assert source.counters.total("fetch").calls == 0


def test_cached_listing_does_not_see_a_new_commit_within_the_ttl(source: GitSource, repo: Any) -> None:
    first = source.resolve(repo.url, "main")
    repo.commit({"new.txt": "x"})
    assert source.resolve(repo.url, "main") == first


def test_new_commit_is_found_after_invalidate(source: GitSource, repo: Any) -> None:
    source.resolve(repo.url, "main")
    pushed = repo.commit({"new.txt": "x"})
    source.invalidate(repo.url)
    assert source.resolve(repo.url, "main") == pushed


def test_new_commit_is_found_with_refresh(source: GitSource, repo: Any) -> None:
    source.resolve(repo.url, "main")
    pushed = repo.commit({"new.txt": "x"})
    assert source.resolve(repo.url, "main", refresh=True) == pushed


def test_new_commit_is_found_after_the_ttl_expires(tmp_path: Path, repo: Any) -> None:
    with GitSource(tmp_path / "cache", ref_cache_ttl=0.05) as git_source:
        git_source.resolve(repo.url, "main")
        pushed = repo.commit({"new.txt": "x"})
        time.sleep(0.1)
        assert git_source.resolve(repo.url, "main") == pushed


def test_invalidate_is_per_repository(source: GitSource, git_repo_factory: Callable[..., Any]) -> None:
    one, two = git_repo_factory(name="one"), git_repo_factory(name="two")
    source.resolve(one.url, "main")
    source.resolve(two.url, "main")
    source.invalidate(one.url)
    source.resolve(one.url, "main")
    source.resolve(two.url, "main")
    assert source.counters.total("ls-remote", two.url).calls == 1


def test_snapshot_fetches_when_the_commit_is_missing(source: GitSource, repo: Any) -> None:
    source.snapshot(repo.url, source.resolve(repo.url, "main"))
    source.snapshot(repo.url, repo.commit({"new.txt": "x"}))
    assert source.counters.total("fetch", repo.url).calls == 2


def test_snapshot_does_not_fetch_when_the_commit_is_in_the_mirror(source: GitSource, repo: Any) -> None:
    older = repo.head()
    newer = repo.commit({"new.txt": "x"})
    source.snapshot(repo.url, newer)  # the fetch brings `older` along
    source.snapshot(repo.url, older)
    assert source.counters.total("fetch", repo.url).calls == 1


def test_second_source_on_the_same_cache_reuses_the_mirror(tmp_path: Path, repo: Any) -> None:
    with GitSource(tmp_path / "cache") as first:
        first.snapshot(repo.url, repo.head())
    newer = repo.commit({"new.txt": "x"})
    with GitSource(tmp_path / "cache") as second:
        second.snapshot(repo.url, repo.git("rev-parse", "HEAD~1"))
        assert second.counters.total("fetch").calls == 0
        second.snapshot(repo.url, newer)
        assert second.counters.total("fetch").calls == 1


# -- snapshots --------------------------------------------------------------------------


def test_snapshot_holds_the_files_of_the_commit(source: GitSource, repo: Any) -> None:
    root = source.snapshot(repo.url, repo.head())
    assert (root / "apps/web/deploy.yaml").read_text() == "kind: ConfigMap\n"


def test_snapshot_is_of_the_requested_commit_not_the_branch_tip(source: GitSource, repo: Any) -> None:
    old = repo.head()
    repo.commit({"apps/web/deploy.yaml": "kind: Secret\n"})
    root = source.snapshot(repo.url, old)
    assert (root / "apps/web/deploy.yaml").read_text() == "kind: ConfigMap\n"


def test_two_snapshots_of_one_commit_share_one_directory(source: GitSource, repo: Any) -> None:
    sha = source.resolve(repo.url, "HEAD")
    first = source.snapshot(repo.url, sha)
    second = source.snapshot(repo.url, sha)
    assert first == second
    assert source.counters.snapshots_created == 1


def test_snapshot_is_read_only(source: GitSource, repo: Any) -> None:
    root = source.snapshot(repo.url, repo.head())
    for path in (root, root / "apps", root / "apps/web/deploy.yaml"):
        assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), path


def test_snapshot_keeps_the_executable_bit(source: GitSource, repo: Any) -> None:
    repo.write({"hook.sh": "#!/bin/sh\n"})
    (repo.path / "hook.sh").chmod(0o755)
    sha = repo.commit()
    assert source.snapshot(repo.url, sha).joinpath("hook.sh").stat().st_mode & stat.S_IXUSR


def test_snapshot_keeps_symlinks_as_symlinks(source: GitSource, repo: Any) -> None:
    os.symlink("../../etc/passwd", repo.path / "escape")
    sha = repo.commit()
    link = source.snapshot(repo.url, sha) / "escape"
    assert link.is_symlink()
    assert os.readlink(link) == "../../etc/passwd"


def test_snapshot_needs_a_full_sha(source: GitSource, repo: Any) -> None:
    with pytest.raises(GitError, match="full 40-character commit SHA"):
        source.snapshot(repo.url, "main")


def test_snapshot_of_a_commit_the_server_lacks_names_the_commit(source: GitSource, repo: Any) -> None:
    with pytest.raises(GitError, match=re.escape(f"commit {'1' * 40} not found in {repo.url}")):
        source.snapshot(repo.url, "1" * 40)


def test_least_recently_used_snapshot_is_evicted_beyond_the_bound(tmp_path: Path, repo: Any) -> None:
    first_sha, second_sha = repo.head(), repo.commit({"a": "1"})
    with GitSource(tmp_path / "cache", max_snapshots=2, eviction_grace_seconds=0) as git_source:
        first = git_source.snapshot(repo.url, first_sha)
        second = git_source.snapshot(repo.url, second_sha)
        # Set the LRU clock explicitly: `first` was used after `second`.
        os.utime(second, (time.time() - 200, time.time() - 200))
        os.utime(first, (time.time() - 100, time.time() - 100))
        third = git_source.snapshot(repo.url, repo.commit({"b": "2"}))
    assert (first.exists(), second.exists(), third.exists()) == (True, False, True)


def test_snapshot_use_refreshes_its_place_in_the_lru_order(tmp_path: Path, repo: Any) -> None:
    sha = repo.head()
    with GitSource(tmp_path / "cache") as git_source:
        root = git_source.snapshot(repo.url, sha)
        os.utime(root, (time.time() - 1000, time.time() - 1000))
        git_source.snapshot(repo.url, sha)
    assert time.time() - root.stat().st_mtime < 500


# -- paths inside a snapshot ------------------------------------------------------------


def test_path_resolves_a_directory_inside_the_snapshot(source: GitSource, repo: Any) -> None:
    sha = repo.head()
    assert source.path(repo.url, sha, "apps/web") == source.snapshot(repo.url, sha) / "apps/web"


def test_path_allows_dot_dot_that_stays_inside(source: GitSource, repo: Any) -> None:
    sha = repo.head()
    assert source.path(repo.url, sha, "apps/web/../web").name == "web"


def test_path_rejects_dot_dot_escape(source: GitSource, repo: Any) -> None:
    with pytest.raises(PathEscapeError, match=re.escape('path "../../etc" escapes the repository')):
        source.path(repo.url, repo.head(), "../../etc")


def test_path_rejects_absolute_path(source: GitSource, repo: Any) -> None:
    with pytest.raises(PathEscapeError, match='path "/etc" escapes the repository'):
        source.path(repo.url, repo.head(), "/etc")


def test_path_rejects_symlink_pointing_outside(source: GitSource, repo: Any) -> None:
    os.symlink("/etc", repo.path / "outside")
    sha = repo.commit()
    with pytest.raises(PathEscapeError, match='path "outside" escapes the repository'):
        source.path(repo.url, sha, "outside")


def test_path_rejects_a_file_below_a_symlinked_directory_outside(source: GitSource, repo: Any) -> None:
    os.symlink("../../../../../../../../etc", repo.path / "up")
    sha = repo.commit()
    with pytest.raises(PathEscapeError, match="escapes the repository"):
        source.path(repo.url, sha, "up/passwd")


def test_path_follows_symlink_inside_the_tree(source: GitSource, repo: Any) -> None:
    os.symlink("apps/web", repo.path / "current")
    sha = repo.commit()
    assert (source.path(repo.url, sha, "current") / "deploy.yaml").is_file()


def test_missing_path_error_names_repository_and_commit(source: GitSource, repo: Any) -> None:
    sha = repo.head()
    with pytest.raises(PathNotFoundError) as caught:
        source.path(repo.url, sha, "apps/nope")
    assert str(caught.value) == f'path "apps/nope" does not exist in {repo.url}@{sha[:7]}'


# -- several processes on one cache -----------------------------------------------------


def _resolve_and_snapshot(cache: str, url: str, barrier: Any, results: Any) -> None:
    with GitSource(Path(cache)) as git_source:
        barrier.wait(timeout=30)
        try:
            sha = git_source.resolve(url, "main")
            root = git_source.snapshot(url, sha)
            results.put(("ok", sha, str(root), (root / "apps/web/deploy.yaml").read_text()))
        except Exception as exc:  # reported to the parent, which fails the test
            results.put(("error", repr(exc), "", ""))


def test_two_processes_resolving_and_snapshotting_one_repo_both_succeed(tmp_path: Path, repo: Any) -> None:
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [
        ctx.Process(target=_resolve_and_snapshot, args=(str(tmp_path / "cache"), repo.url, barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    expected = ("ok", repo.head(), str(tmp_path / "cache" / "snapshots" / repo.head()), "kind: ConfigMap\n")
    assert outcomes == [expected, expected]


# -- git daemon (git://) ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after 10 s")


@pytest.fixture
def git_daemon(repo: Any) -> Iterator[str]:
    """`git daemon` serving the `config` repository's parent directory; yields the repo's git:// URL."""
    port = _free_port()
    base = repo.path.parent
    proc = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1", f"--port={port}",
         f"--base-path={base}", str(base)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_port(port, proc)
        yield f"git://127.0.0.1:{port}/{repo.path.name}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_git_daemon_url_is_refused_before_git_connects(source: GitSource, git_daemon: str) -> None:
    # git:// is neither authenticated nor encrypted: only https, http, ssh and file are used.
    with pytest.raises(GitError, match='uses the scheme "git", which is refused'):
        source.resolve(git_daemon, "main")
    assert source.counters.total("ls-remote").calls == 0


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = int(listener.getsockname()[1])
        with allow_private_hosts(f"127.0.0.1:{port}"):
            yield port


def test_remote_that_never_answers_times_out_with_git_error(tmp_path: Path, silent_server: int) -> None:
    with (
        GitSource(tmp_path / "cache", timeout_seconds=1) as git_source,
        pytest.raises(GitError, match="no answer within 1 s"),
    ):
        git_source.resolve(f"http://127.0.0.1:{silent_server}/repo", "HEAD")


# -- HTTP with basic auth: credentials stay secret --------------------------------------


class _BasicAuthGitHandler(SimpleHTTPRequestHandler):
    """Git's dumb HTTP protocol over static files, behind HTTP basic auth."""

    expected = "Basic " + base64.b64encode(f"{HTTP_USER}:{HTTP_TOKEN}".encode()).decode()

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_repo(repo: Any, tmp_path: Path) -> Iterator[str]:
    """The `config` repository served over HTTP (basic auth required); yields its URL without credentials."""
    served = tmp_path / "served"
    served.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(served / "config.git")], check=True)
    subprocess.run(["git", "-C", str(served / "config.git"), "update-server-info"], check=True)
    handler = functools.partial(_BasicAuthGitHandler, directory=str(served))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with allow_private_hosts(f"127.0.0.1:{server.server_address[1]}"):
            yield f"http://127.0.0.1:{server.server_address[1]}/config.git"
    finally:
        server.shutdown()
        server.server_close()


def _with_userinfo(url: str, userinfo: str) -> str:
    return url.replace("http://", f"http://{userinfo}@", 1)


def test_token_in_the_url_authenticates_over_http(source: GitSource, repo: Any, http_repo: str) -> None:
    assert source.resolve(_with_userinfo(http_repo, f"{HTTP_USER}:{HTTP_TOKEN}"), "main") == repo.head()


def test_configured_credentials_authenticate_over_http(tmp_path: Path, repo: Any, http_repo: str) -> None:
    store = CredentialStore([(http_repo, RepoCredentials(username=HTTP_USER, password=HTTP_TOKEN))])
    with GitSource(tmp_path / "cache", store) as git_source:
        assert git_source.resolve(http_repo, "main") == repo.head()


def test_missing_credentials_fail_without_prompting(source: GitSource, http_repo: str) -> None:
    with pytest.raises(GitError, match=re.escape(f"git ls-remote of {http_repo} failed")):
        source.resolve(http_repo, "main")


def test_mirror_config_holds_no_token(source: GitSource, repo: Any, http_repo: str, tmp_path: Path) -> None:
    url = _with_userinfo(http_repo, f"{HTTP_USER}:{HTTP_TOKEN}")
    source.snapshot(url, source.resolve(url, "main"))
    configs = list((tmp_path / "cache" / "mirrors").glob("*/config"))
    assert len(configs) == 1
    assert HTTP_TOKEN not in configs[0].read_text()
    assert http_repo in configs[0].read_text()


def test_wrong_token_error_does_not_contain_the_token(source: GitSource, http_repo: str) -> None:
    with pytest.raises(GitError) as caught:
        source.resolve(_with_userinfo(http_repo, f"{HTTP_USER}:wrong-{HTTP_TOKEN}"), "main")
    assert "failed" in str(caught.value)
    assert HTTP_TOKEN not in str(caught.value)


def test_unreachable_url_with_token_error_does_not_contain_the_token(source: GitSource) -> None:
    url = f"https://{HTTP_USER}:{HTTP_TOKEN}@127.0.0.1:{_free_port()}/org/repo.git"
    with pytest.raises(GitError) as caught:
        source.resolve(url, "main")
    assert HTTP_TOKEN not in str(caught.value)
    assert "https://127.0.0.1:" in str(caught.value)


def test_unknown_revision_message_strips_credentials(source: GitSource, http_repo: str) -> None:
    url = _with_userinfo(http_repo, f"{HTTP_USER}:{HTTP_TOKEN}")
    with pytest.raises(GitError) as caught:
        source.resolve(url, "nope")
    assert str(caught.value) == f'revision "nope" not found in {http_repo}: no branch, tag or commit by that name'


def test_one_ls_remote_answers_every_process_sharing_the_redis_ref_cache(
    git_repo_factory: Any, redis_client: Any, tmp_path: Path
) -> None:
    from reconciler.state import Store

    repo = git_repo_factory({"a.txt": "1"})
    store = Store(redis_client)
    first = GitSource(tmp_path / "one", ref_cache_ttl=30, shared_refs=store)
    second = GitSource(tmp_path / "two", ref_cache_ttl=30, shared_refs=store)
    assert first.resolve(repo.url, "HEAD") == second.resolve(repo.url, "HEAD") == repo.head()
    assert first.counters.total("ls-remote").calls == 1
    assert second.counters.total("ls-remote").calls == 0
    new_head = repo.commit({"a.txt": "2"})
    assert second.resolve(repo.url, "HEAD", refresh=True) == new_head  # a webhook refresh lists now ...
    assert first.resolve(repo.url, "main") == repo.head()  # ... and shares it: `first` sees it without listing
    assert first.counters.total("ls-remote").calls == 1
