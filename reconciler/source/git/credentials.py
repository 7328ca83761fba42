"""Repository credentials: where they come from and how git gets them without leaking them.

Configuration, from the environment. Each repository (or URL prefix) is a numbered
or named group; `<N>` is any label made of letters, digits and `_`:

    RECONCILER_REPO_<N>_URL                   URL or URL prefix, e.g. https://github.com/acme
    RECONCILER_REPO_<N>_USERNAME              HTTPS user name (for a token: any non-empty name)
    RECONCILER_REPO_<N>_PASSWORD              HTTPS password or access token
    RECONCILER_REPO_<N>_SSH_PRIVATE_KEY_FILE  path of an SSH private key
    RECONCILER_REPO_<N>_SSH_PRIVATE_KEY       an SSH private key inline (PEM/OpenSSH text)

Prefixes are compared in normalised form (see `giturls.normalize_repo_url`) on a `/`
boundary, and the longest matching prefix wins, so a repository-specific entry beats
an organisation-wide one (as Argo CD's repository entry beats its credential template).
Credentials written into a URL (`https://user:token@host/repo`) are used when no
configured entry matches, and are removed from the URL before git sees it.

How git receives them: HTTPS user name and password go through GIT_ASKPASS, a tiny
script that prints two environment variables set only on that git process, so they
are in no command line, no URL and no config file. SSH uses GIT_SSH_COMMAND with the
key file, `IdentitiesOnly=yes`, `StrictHostKeyChecking=accept-new` and a known-hosts
file under the cache directory. Inline keys are written 0600 to a private temporary
directory that `GitAuth.close()` removes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.core.urls import normalize_repo_url

ENV_PREFIX = "RECONCILER_REPO_"
_URL_KEY = re.compile(r"^RECONCILER_REPO_(?P<label>[A-Za-z0-9_]+?)_URL$")
ASKPASS_USERNAME_VAR = "RECONCILER_GIT_ASKPASS_USERNAME"
ASKPASS_PASSWORD_VAR = "RECONCILER_GIT_ASKPASS_PASSWORD"

# Git asks "Username for '...': " then "Password for '...': ". With no credentials at
# all, exit 1 so git fails at once instead of trying empty answers. An empty password
# after a user name is answered: a token given as the user name needs no password.
_ASKPASS_SCRIPT = f"""#!/bin/sh
[ -n "${ASKPASS_USERNAME_VAR}${ASKPASS_PASSWORD_VAR}" ] || exit 1
case "$1" in
  Username*) printf '%s\\n' "${ASKPASS_USERNAME_VAR}" ;;
  *) printf '%s\\n' "${ASKPASS_PASSWORD_VAR}" ;;
esac
"""


@dataclass(frozen=True)
class RepoCredentials:
    """Credentials for one repository or URL prefix. Secrets are kept out of repr()."""

    username: str = ""
    password: str = field(default="", repr=False)  # password or access token
    ssh_private_key: str = field(default="", repr=False)  # inline key text
    ssh_private_key_file: str = ""

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never be printed; a user name alone is a token (`https://TOKEN@host`)."""
        token_as_user = self.username if not self.password else ""
        return tuple(s for s in (self.password, self.ssh_private_key, token_as_user) if s)


@dataclass(frozen=True)
class CredentialEntry:
    url_prefix: str  # normalised
    credentials: RepoCredentials


class CredentialStore:
    """Looks up the credentials for a repository URL by longest matching prefix."""

    def __init__(self, entries: list[tuple[str, RepoCredentials]] | None = None) -> None:
        self._entries = [CredentialEntry(normalize_repo_url(prefix), creds) for prefix, creds in entries or []]
        self._entries.sort(key=lambda e: len(e.url_prefix), reverse=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CredentialStore:
        """Read the RECONCILER_REPO_<N>_* groups described in the module docstring."""
        env = os.environ if environ is None else environ
        entries: list[tuple[str, RepoCredentials]] = []
        for key, url in sorted(env.items()):
            match = _URL_KEY.match(key)
            if match is None or not url.strip():
                continue
            base = f"{ENV_PREFIX}{match['label']}_"
            key_file = env.get(f"{base}SSH_PRIVATE_KEY_FILE", "")
            if key_file and not Path(key_file).is_file():
                raise ValueError(
                    f"{base}SSH_PRIVATE_KEY_FILE names {key_file!r}, which is not a file: "
                    "point it at the private key or unset it"
                )
            try:
                normalize_repo_url(url)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
            entries.append(
                (
                    url,
                    RepoCredentials(
                        username=env.get(f"{base}USERNAME", ""),
                        password=env.get(f"{base}PASSWORD", ""),
                        ssh_private_key=env.get(f"{base}SSH_PRIVATE_KEY", ""),
                        ssh_private_key_file=key_file,
                    ),
                )
            )
        return cls(entries)

    def lookup(self, repo_url: str) -> RepoCredentials | None:
        """Credentials whose prefix covers `repo_url` (longest prefix first), or None."""
        try:
            url = normalize_repo_url(repo_url)
        except ValueError:
            return None
        for entry in self._entries:
            if url == entry.url_prefix or url.startswith(entry.url_prefix.rstrip("/") + "/"):
                return entry.credentials
        return None


class GitAuth:
    """Builds the environment of a git process for given credentials; owns a private temp dir."""

    def __init__(self, known_hosts_file: Path) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="reconciler-git-auth-"))  # mode 0700
        self._askpass = self._dir / "askpass.sh"
        self._askpass.write_text(_ASKPASS_SCRIPT)
        self._askpass.chmod(stat.S_IRWXU)
        self._known_hosts = known_hosts_file

    def environment(self, creds: RepoCredentials | None) -> dict[str, str]:
        """Variables for one git invocation: never prompts, and answers only from `creds`."""
        creds = creds or RepoCredentials()
        env = {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": str(self._askpass),
            "SSH_ASKPASS": str(self._askpass),
            ASKPASS_USERNAME_VAR: creds.username,
            ASKPASS_PASSWORD_VAR: creds.password,
            "GIT_SSH_COMMAND": self.ssh_command(creds),
        }
        return env

    def ssh_command(self, creds: RepoCredentials) -> str:
        """`ssh ...` for GIT_SSH_COMMAND: batch mode, accept-new host keys, the given key only."""
        args = [
            "ssh",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", f"UserKnownHostsFile={self._known_hosts}",
        ]  # fmt: skip
        key_file = creds.ssh_private_key_file or (
            str(self._inline_key_file(creds.ssh_private_key)) if creds.ssh_private_key else ""
        )
        if key_file:
            args += ["-i", key_file, "-o", "IdentitiesOnly=yes"]
        return shlex.join(args)

    def _inline_key_file(self, key: str) -> Path:
        # Named by a hash of the key so each key is written once per process.
        path = self._dir / f"key-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        if path.exists():
            return path
        # Written under a private name and renamed, so no ssh ever reads half a key.
        fd, partial = tempfile.mkstemp(dir=self._dir, prefix=".key-")  # mode 0600
        with os.fdopen(fd, "w") as handle:
            handle.write(key if key.endswith("\n") else key + "\n")
        os.replace(partial, path)
        return path

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
