"""The Git source: which commit a revision names, and the files of a commit.

`GitSource` keeps one bare mirror per repository and one read-only snapshot directory
per commit under a cache directory (the app passes `RECONCILER_DATA_DIR/git`), and is
safe to share between worker processes on one host: every change to a mirror or a
snapshot happens under that entry's file lock.

Cost model, because polling many apps is the common case:
- `resolve` answers branch, tag and HEAD revisions from one remote ref listing
  (`git ls-remote`) per repository, kept in memory for `ref_cache_ttl` seconds, so
  every app on a repository shares it. The default TTL is 10 s, not Argo CD's 3 min:
  this system is driven by webhooks and a 180 s poll, so the listing only has to
  absorb the burst of apps polled together; a 3 min TTL would make a poll see a
  listing up to a whole poll interval old. A webhook calls `invalidate(url)` (in its
  own process) or passes `refresh=True` to skip the cache. A shared listing is never
  replaced by one whose `ls-remote` started earlier (it may predate the push a webhook's
  listing saw), and `is_ancestor` lets a poll notice a listing older than a commit it synced.
- A fetch happens only when a wanted commit is not in the mirror yet.
- A snapshot is extracted once per commit (`read-tree` + `checkout-index` into a temp
  directory with a private index, then an atomic rename), with no work tree per app.
  Symlinks stay symlinks; `safe_path` refuses any path that leaves the tree.

Credentials never reach a command line, a URL git sees, the mirror's config, a log
or an error message; see `reconciler.source.git.credentials` for the configuration and mechanism.
"""

from __future__ import annotations

import logging
import os
import posixpath
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

import git as gitpython

from reconciler.core.outbound import OutboundPolicy, OutboundRefused
from reconciler.core.urls import (
    ALLOWED_SCHEMES,
    normalize_repo_url,
    redact_text,
    redact_url,
    repo_url_problem,
    split_credentials,
)
from reconciler.source.git.cache import CacheLayout, make_read_only, remove_tree
from reconciler.source.git.credentials import CredentialStore, GitAuth, RepoCredentials
from reconciler.source.git.egress import GitEgress
from reconciler.source.git.errors import GitError, PathEscapeError, PathNotFoundError, RevisionNotFound
from reconciler.source.git.failures import remote_failure
from reconciler.source.git.local_roots import LocalRepoPolicy, local_path
from reconciler.source.git.refs import RefListing, is_full_sha, is_short_sha, parse_ls_remote, resolve_in_listing

__all__ = [
    "GitCounters",
    "GitError",
    "GitSource",
    "PathEscapeError",
    "PathNotFoundError",
    "RepoCredentials",
    "RequestStats",
    "normalize_repo_url",
    "safe_path",
]

log = logging.getLogger(__name__)

DEFAULT_REF_CACHE_TTL = 10.0
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_MIRRORS = 50
DEFAULT_MAX_SNAPSHOTS = 200
DEFAULT_EVICTION_GRACE_SECONDS = 300.0
LS_REMOTE = "ls-remote"
FETCH = "fetch"
_HEADS_AND_TAGS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
# Settings for every git call: no credential helper may store or supply secrets, and
# garbage collection never detaches into the background outside the mirror's lock.
# Transports: none but the ones `repo_url_problem` accepts, so an `ext::` URL that got past
# the parser still cannot run a command (defence in depth; git's own default allows more).
_GIT_CONFIG = (
    "-c", "credential.helper=",
    "-c", "gc.autoDetach=false",
    "-c", "protocol.version=2",
    "-c", "protocol.allow=never",
    *(arg for scheme in ALLOWED_SCHEMES for arg in ("-c", f"protocol.{scheme}.allow=always")),
)  # fmt: skip
# The same for the transports git picks itself (submodules, redirects): its environment variable.
_GIT_ENV = {"GIT_ALLOW_PROTOCOL": ":".join(ALLOWED_SCHEMES), "GIT_TERMINAL_PROMPT": "0"}


@dataclass
class RequestStats:
    """Count, failures and total duration of one kind of remote request."""

    calls: int = 0
    failures: int = 0
    seconds: float = 0.0


@dataclass
class GitCounters:
    """Per-process counts of remote git requests, read by the metrics layer.

    `requests` is keyed by (request type, normalised repository URL); request types
    are "ls-remote" and "fetch", as in Argo CD's `argocd_git_request_total`.
    """

    requests: dict[tuple[str, str], RequestStats] = field(default_factory=dict)
    snapshots_created: int = 0
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, request_type: str, repo_url: str, seconds: float, ok: bool) -> None:
        key = (request_type, normalize_repo_url(repo_url))
        with self._guard:
            stats = self.requests.setdefault(key, RequestStats())
            stats.calls += 1
            stats.seconds += seconds
            stats.failures += 0 if ok else 1

    def total(self, request_type: str, repo_url: str | None = None) -> RequestStats:
        """Summed stats of one request type, for one repository or all."""
        wanted = normalize_repo_url(repo_url) if repo_url is not None else None
        out = RequestStats()
        for (kind, repo), stats in self.requests.items():
            if kind == request_type and (wanted is None or repo == wanted):
                out.calls += stats.calls
                out.failures += stats.failures
                out.seconds += stats.seconds
        return out


@dataclass(frozen=True)
class _Remote:
    """A repository as git is given it: URL without credentials, plus the credentials."""

    url: str  # credentials stripped; safe to print and to store
    credentials: RepoCredentials | None

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.credentials.secrets if self.credentials else ()


def safe_path(snapshot_root: Path, rel_path: str, *, origin: str = "") -> Path:
    """`rel_path` inside the snapshot, refusing anything that would leave it.

    Refuses absolute paths, `..` that climbs above the root and symlinks (anywhere
    along the path) that resolve outside the snapshot, with PathEscapeError; a path
    that does not exist raises PathNotFoundError naming `origin` (e.g. repo@sha).
    """
    rel = rel_path.strip()
    if rel in ("", ".", "./"):
        return snapshot_root
    if rel.startswith(("/", "\\")):
        raise PathEscapeError(f'path "{rel}" escapes the repository: use a path relative to its root')
    normal = posixpath.normpath(rel.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        raise PathEscapeError(f'path "{rel}" escapes the repository: it climbs above the root with ".."')
    candidate = snapshot_root / normal
    root = snapshot_root.resolve()
    resolved = candidate.resolve()
    if resolved != root and root not in resolved.parents:
        raise PathEscapeError(f'path "{rel}" escapes the repository: a symlink on it points outside the tree')
    if not candidate.exists():
        where = origin or snapshot_root.name[:7]
        raise PathNotFoundError(f'path "{rel}" does not exist in {where}')
    return candidate


def _check_url(repo_url: str, local: LocalRepoPolicy) -> None:
    """Turn a refused or malformed repository URL into a GitError, which callers report as app
    status: checked again here (not only by the parser) because this is where git is called."""
    problem = repo_url_problem(repo_url, allow_credentials=True)
    if not problem:
        try:
            normalize_repo_url(repo_url)
        except ValueError as exc:
            problem = str(exc)
    if problem:
        raise GitError(f"repository URL refused: {redact_text(problem)}")
    local.check(repo_url)


class SharedRefCache(Protocol):
    """Somewhere all worker processes share `git ls-remote` answers (the Redis store)."""

    def cached_refs(self, repo_key: str) -> tuple[str, float] | None:
        """(ls-remote output, seconds it stays valid) or None."""
        ...

    def cache_refs(self, repo_key: str, output: str, ttl_seconds: float, listed_at: float | None = None) -> bool:
        """Share a listing unless the shared one started later than `listed_at` (Unix time)."""
        ...


class GitSource:
    """Resolves revisions and provides commit trees for Git repositories, through a shared cache."""

    def __init__(
        self,
        cache_dir: Path,
        credentials: CredentialStore | None = None,
        *,
        ref_cache_ttl: float = DEFAULT_REF_CACHE_TTL,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        max_mirrors: int = DEFAULT_MAX_MIRRORS,
        max_snapshots: int = DEFAULT_MAX_SNAPSHOTS,
        eviction_grace_seconds: float = DEFAULT_EVICTION_GRACE_SECONDS,
        shared_refs: SharedRefCache | None = None,
        local_repos: LocalRepoPolicy | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self.layout = CacheLayout(Path(cache_dir))
        # Which local paths / file:// URLs may be read (RECONCILER_LOCAL_REPO_ROOTS); never the cache.
        self.local = (local_repos or LocalRepoPolicy.from_env()).forbidding(Path(cache_dir))
        self.credentials = credentials or CredentialStore()
        self.ref_cache_ttl = ref_cache_ttl
        self.timeout_seconds = timeout_seconds
        self.max_mirrors = max_mirrors
        self.max_snapshots = max_snapshots
        self.eviction_grace_seconds = eviction_grace_seconds
        self.counters = GitCounters()
        # Shared across processes, so N workers make one ls-remote per repo per window, not N.
        self.shared_refs = shared_refs
        self._auth = GitAuth(self.layout.known_hosts)
        # Which addresses git may connect to (RECONCILER_ALLOWED_PRIVATE_HOSTS), checked at connect time.
        self.egress = GitEgress(outbound or OutboundPolicy())
        self._refs: dict[str, tuple[float, RefListing]] = {}
        self._refs_guard = threading.Lock()
        self._repo_locks: dict[str, threading.Lock] = {}

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Remove this process's temporary credential files; stop the egress proxy."""
        self._auth.close()
        self.egress.close()

    def __enter__(self) -> GitSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- revisions -------------------------------------------------------------------

    def resolve(self, repo_url: str, target_revision: str, *, refresh: bool = False) -> str:
        """Full commit SHA that `target_revision` names in the repository.

        Accepts HEAD (or empty: the remote's default branch), a branch, a tag (annotated
        tags give the commit), `refs/heads/x`, `refs/tags/x`, a full SHA and a short
        SHA of 7+ hex digits. `refresh=True` skips the cached ref listing.
        """
        _check_url(repo_url, self.local)
        revision = target_revision.strip() or "HEAD"
        if is_full_sha(revision):
            if self._find_commit(repo_url, revision) is None:
                raise self._not_found(repo_url, revision)
            return revision
        sha = resolve_in_listing(self.list_refs(repo_url, refresh=refresh), revision)
        if sha is not None:
            return sha
        if is_short_sha(revision):
            found = self._find_commit(repo_url, revision)
            if found is not None:
                return found
        raise self._not_found(repo_url, revision)

    def list_refs(self, repo_url: str, *, refresh: bool = False) -> RefListing:
        """The remote's branches, tags and HEAD, from this process's cache or the shared one
        when fresh; `refresh` lists the remote now and shares the answer."""
        _check_url(repo_url, self.local)
        key = normalize_repo_url(repo_url)
        with self._refs_guard:
            repo_lock = self._repo_locks.setdefault(key, threading.Lock())
        # One listing per repository at a time: threads asking together share its answer.
        with repo_lock:
            if not refresh and self.shared_refs is not None:
                # The shared copy is the only one read: a webhook refresh in any process then
                # reaches every process at once (a Redis GET costs far less than an ls-remote).
                shared = self.shared_refs.cached_refs(key)
                if shared is not None:
                    return parse_ls_remote(shared[0])
            cached = self._refs.get(key)
            if not refresh and cached is not None and time.monotonic() - cached[0] < self.ref_cache_ttl:
                return cached[1]
            remote = self._remote(repo_url)
            listed_at = time.time()
            output = self._run_remote(
                LS_REMOTE, remote, ["ls-remote", "--symref", "--", remote.url, "HEAD", "refs/heads/*", "refs/tags/*"]
            )
            try:
                listing = parse_ls_remote(output)
            except ValueError as exc:
                raise GitError(f"git ls-remote of {remote.url} gave output this system cannot read: {exc}") from None
            self._refs[key] = (time.monotonic(), listing)
            if self.shared_refs is not None:
                # Not over a listing that started later (a push's webhook listed it meanwhile):
                # this answer may predate that push.
                self.shared_refs.cache_refs(key, output, self.ref_cache_ttl, listed_at)
            return listing

    def invalidate(self, repo_url: str | None = None) -> None:
        """Forget the cached ref listing of one repository (all when None), e.g. on a push webhook."""
        if repo_url is None:
            self._refs.clear()
        else:
            self._refs.pop(normalize_repo_url(repo_url), None)

    def is_ancestor(self, repo_url: str, older: str, newer: str) -> bool:
        """Whether commit `older` comes before `newer` in history (`git merge-base --is-ancestor`
        in the mirror). False when they are the same, either is not a full SHA, or the mirror does
        not hold both: nothing is fetched for this question."""
        if older == newer or not (is_full_sha(older) and is_full_sha(newer)):
            return False
        _check_url(repo_url, self.local)
        mirror = self.layout.mirror_dir(repo_url)
        if not (mirror / "HEAD").exists():
            return False
        status, _, _ = self._run_local(mirror, ["merge-base", "--is-ancestor", older, newer])
        return status == 0

    # -- commits and trees -----------------------------------------------------------

    def ensure_commit(self, repo_url: str, sha: str) -> None:
        """Make sure the mirror holds commit `sha`, fetching only if it does not."""
        _check_url(repo_url, self.local)
        if self._find_commit(repo_url, sha) is None:
            raise GitError(
                f"commit {sha} not found in {redact_url(repo_url)}: it is on no branch or tag "
                "the server offers; check the SHA, or push the commit to a branch"
            )

    def snapshot(self, repo_url: str, sha: str) -> Path:
        """Read-only directory holding the tree of commit `sha`, shared by every caller."""
        if not is_full_sha(sha):
            raise GitError(f'snapshot needs a full 40-character commit SHA, got "{sha}": call resolve() first')
        target = self.layout.snapshot_dir(sha)
        if target.is_dir():
            self.layout.touch(target)
            return target
        self.ensure_commit(repo_url, sha)
        mirror = self.layout.mirror_dir(repo_url)
        with self.layout.lock_for(target):
            if target.is_dir():  # another process made it while we waited for the lock
                return target
            self._extract(mirror, sha, target)
        self.layout.evict(self.layout.snapshots, self.max_snapshots, self.eviction_grace_seconds)
        return target

    def path(self, repo_url: str, sha: str, rel_path: str) -> Path:
        """`rel_path` in the snapshot of `sha`, checked by `safe_path` (errors name repo@sha)."""
        return safe_path(self.snapshot(repo_url, sha), rel_path, origin=f"{redact_url(repo_url)}@{sha[:7]}")

    # -- internals -------------------------------------------------------------------

    def _remote(self, repo_url: str) -> _Remote:
        url, username, password = split_credentials(repo_url)
        creds = self.credentials.lookup(url)
        if creds is None and (username or password):
            creds = RepoCredentials(username=username, password=password)
        return _Remote(url=url, credentials=creds)

    def _not_found(self, repo_url: str, revision: str) -> GitError:
        return RevisionNotFound(
            f'revision "{revision}" not found in {redact_url(repo_url)}: no branch, tag or commit by that name'
        )

    def _find_commit(self, repo_url: str, revision: str) -> str | None:
        """Full SHA of commit `revision` (full or abbreviated) in the mirror, fetching when absent."""
        mirror = self.layout.mirror_dir(repo_url)
        found = self._commit_in_mirror(mirror, revision, repo_url)
        if found is not None:
            self.layout.touch(mirror)
            return found
        remote = self._remote(repo_url)
        with self.layout.lock_for(mirror):
            if not (mirror / "HEAD").exists():
                self._create_mirror(mirror, remote)
            found = self._commit_in_mirror(mirror, revision, repo_url)
            if found is None:  # nobody fetched it while we waited for the lock
                fetch = ["fetch", "--prune", "--quiet", "--", remote.url, *_HEADS_AND_TAGS]
                self._run_remote(FETCH, remote, fetch, mirror)
                found = self._commit_in_mirror(mirror, revision, repo_url)
            if found is None and is_full_sha(revision):
                # A commit on no branch or tag: servers that allow fetching by SHA give it.
                try:
                    self._run_remote(FETCH, remote, ["fetch", "--quiet", "--", remote.url, revision], mirror)
                except GitError as exc:
                    log.debug("fetch of commit %s by SHA failed: %s", revision, exc)
                found = self._commit_in_mirror(mirror, revision, repo_url)
        self.layout.evict(self.layout.mirrors, self.max_mirrors, self.eviction_grace_seconds)
        return found

    def _commit_in_mirror(self, mirror: Path, revision: str, repo_url: str) -> str | None:
        if not (mirror / "HEAD").exists():
            return None
        args = ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"]
        status, out, err = self._run_local(mirror, args)
        if status == 0:
            return out.strip()
        if "ambiguous" in err:
            raise GitError(
                f'revision "{revision}" is ambiguous in {redact_url(repo_url)}: several commits start with it; '
                "use more characters of the SHA"
            )
        return None

    def _create_mirror(self, mirror: Path, remote: _Remote) -> None:
        # Built beside its final place and renamed, so a crash leaves no half mirror.
        tmp = self.layout.temp_dir_for(mirror)
        try:
            repo = gitpython.Repo.init(tmp, bare=True)
            with repo.config_writer() as config:
                # The URL is stored without credentials, for people inspecting the cache.
                config.set_value('remote "origin"', "url", remote.url)
                config.set_value("gc", "autoDetach", "false")
            repo.close()
            os.rename(tmp, mirror)
        except BaseException:
            remove_tree(tmp)
            raise

    def _extract(self, mirror: Path, sha: str, target: Path) -> None:
        tmp = self.layout.temp_dir_for(target)
        index = self.layout.locks / f"index-{os.getpid()}-{os.urandom(4).hex()}"
        env = {"GIT_INDEX_FILE": str(index), **_GIT_ENV}
        try:
            # A work tree given per command, with a private index: the mirror itself
            # stays bare, so extractions of different commits never share state.
            for args in (["read-tree", "--end-of-options", sha], ["checkout-index", "--all", "--force"]):
                status, _, err = self._run_local(mirror, [f"--work-tree={tmp}", *args], env=env)
                if status != 0:
                    raise GitError(f"extracting commit {sha[:7]} failed: {err.strip()}")
            make_read_only(tmp)
            os.rename(tmp, target)
            self.counters.snapshots_created += 1
        except BaseException:
            remove_tree(tmp)
            raise
        finally:
            index.unlink(missing_ok=True)

    def _run_local(self, git_dir: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
        cmd = gitpython.cmd.Git(str(git_dir))
        status, out, err = cmd.execute(
            ["git", f"--git-dir={git_dir}", *_GIT_CONFIG, *args],
            with_extended_output=True,
            with_exceptions=False,
            env={**_GIT_ENV, **(env or {})},
            strip_newline_in_stdout=False,
        )
        return int(status), str(out), str(err)

    def _run_remote(self, request_type: str, remote: _Remote, args: list[str], git_dir: Path | None = None) -> str:
        """Run a git command that talks to `remote`, timed, counted, its connections checked by the
        outbound policy, and its errors told in our words (never the server's)."""
        prefix = [f"--git-dir={git_dir}"] if git_dir is not None else []
        cmd = gitpython.cmd.Git(str(git_dir) if git_dir is not None else None)
        env = {**_GIT_ENV, **self._auth.environment(remote.credentials)}
        try:
            call, network = self.egress.environment(remote.url, env["GIT_SSH_COMMAND"])
        except OutboundRefused as refused:
            raise GitError(f"git {request_type} of {redact_url(remote.url)} was refused: {refused}") from None
        except OSError:
            shown = redact_url(remote.url)
            raise GitError(f"git {request_type} of {shown} failed: the host name does not resolve") from None
        started = time.monotonic()
        status, out, err = cmd.execute(
            ["git", *prefix, *_GIT_CONFIG, *args],
            with_extended_output=True,
            with_exceptions=False,
            env={**env, **network},
            kill_after_timeout=self.timeout_seconds,
        )
        ok = status == 0
        self.counters.record(request_type, remote.url, time.monotonic() - started, ok)
        refused = self.egress.refusal(call)
        if ok:
            return str(out)
        if refused:
            raise GitError(f"git {request_type} of {redact_url(remote.url)} was refused: {refused}")
        if str(err).startswith("Timeout:"):
            detail = f"no answer within {self.timeout_seconds:g} s"
        elif local_path(remote.url) is None:
            detail = remote_failure(str(err), int(status))  # the server's words never reach a condition
        else:
            detail = redact_text(str(err).strip(), remote.secrets) or f"exit status {status}"
        raise GitError(f"git {request_type} of {redact_url(remote.url)} failed: {detail}")
