"""On-disk layout of the Git cache, its per-entry file locks, and LRU eviction.

    <cache_dir>/mirrors/<sha256 of normalised URL>/   bare mirror of one repository
    <cache_dir>/snapshots/<commit sha>/               read-only tree of one commit
    <cache_dir>/locks/*.lock                          one file lock per mirror / snapshot
    <cache_dir>/known_hosts                           SSH host keys accepted on first use

Snapshots are keyed by commit alone: a commit's tree is the same in every clone or
fork, so apps on forks share it too. Recency is the directory's mtime, refreshed on
each use, so every worker process on the host sees the same LRU order. Lock files are
never deleted: removing a lock file another process holds would let a third take a
second lock on a new file of the same name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import time
from pathlib import Path

from filelock import FileLock, Timeout

from reconciler.core.urls import normalize_repo_url

TMP_PREFIX = ".tmp-"
# A temporary directory this old belongs to a process that died while building it.
STALE_TMP_SECONDS = 3600.0


class CacheLayout:
    """Paths and locks of one cache directory; shared safely by processes on one host."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mirrors = root / "mirrors"
        self.snapshots = root / "snapshots"
        self.locks = root / "locks"
        self.known_hosts = root / "known_hosts"
        for directory in (self.mirrors, self.snapshots, self.locks):
            directory.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def repo_key(repo_url: str) -> str:
        return hashlib.sha256(normalize_repo_url(repo_url).encode()).hexdigest()

    def mirror_dir(self, repo_url: str) -> Path:
        return self.mirrors / self.repo_key(repo_url)

    def snapshot_dir(self, sha: str) -> Path:
        return self.snapshots / sha

    def lock_for(self, entry: Path) -> FileLock:
        """The inter-process lock guarding one mirror or snapshot directory."""
        return FileLock(str(self.locks / f"{entry.parent.name}-{entry.name}.lock"))

    def temp_dir_for(self, entry: Path) -> Path:
        """A fresh private directory beside `entry`, so a rename onto `entry` is atomic."""
        path = entry.parent / f"{TMP_PREFIX}{entry.name}-{os.getpid()}-{os.urandom(4).hex()}"
        path.mkdir()
        return path

    @staticmethod
    def touch(entry: Path) -> None:
        """Mark `entry` as just used (its mtime is the LRU clock)."""
        with contextlib.suppress(FileNotFoundError):  # evicted meanwhile: nothing to mark
            os.utime(entry)

    def evict(self, parent: Path, keep: int, grace_seconds: float) -> list[Path]:
        """Remove the least recently used entries of `parent` beyond `keep`.

        Entries used within `grace_seconds` stay (another process may be reading
        them), as do entries whose lock is held right now. Returns what was removed.
        """
        now = time.time()
        entries: list[tuple[float, Path]] = []
        for child in parent.iterdir():
            try:
                mtime = child.stat().st_mtime
            except FileNotFoundError:
                continue
            if child.name.startswith(TMP_PREFIX):
                if now - mtime > STALE_TMP_SECONDS:
                    remove_tree(child)
                continue
            entries.append((mtime, child))
        entries.sort()
        removed: list[Path] = []
        for mtime, entry in entries[: max(0, len(entries) - keep)]:
            if now - mtime < grace_seconds:
                break
            lock = self.lock_for(entry)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            try:
                remove_tree(entry)
                removed.append(entry)
            finally:
                lock.release()
        return removed


def make_read_only(root: Path) -> None:
    """Drop write permission on every file and directory under `root` (symlinks untouched)."""
    no_write = ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*filenames, *dirnames]:
            path = Path(dirpath) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & no_write)
    root.chmod(root.stat().st_mode & no_write)


def remove_tree(root: Path) -> None:
    """Delete a directory tree, read-only snapshots included; a tree already gone is fine."""
    if not root.is_dir() or root.is_symlink():
        return
    writable = stat.S_IRWXU
    for dirpath, dirnames, _ in os.walk(root):
        os.chmod(dirpath, os.stat(dirpath).st_mode | writable)
        # os.walk does not follow symlinked directories, so nothing outside `root` is touched.
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    shutil.rmtree(root, ignore_errors=True)
