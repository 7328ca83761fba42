"""A failed git call on a remote repository, told in our words.

git's stderr for a remote holds what the server said: `remote:` lines, an HTTP error page's
status line, an SSH banner, the first bytes of whatever service the URL points at. None of
it reaches a condition (readable by read-only tokens): the failure is matched against what
git and curl say about it and reduced to a fixed description and, for HTTP, the status code
with its standard reason phrase.
"""

from __future__ import annotations

import re

from reconciler.core.outbound.http import status_text

_HTTP_STATUS = re.compile(r"returned error: (\d{3})|HTTP (?:code )?(\d{3})")
_CREDENTIALS = "check the RECONCILER_REPO_<N>_USERNAME / _PASSWORD (or _SSH_PRIVATE_KEY_FILE) for this repository"
# (words in git's or curl's message, what we say): first match wins.
_KNOWN: tuple[tuple[tuple[str, ...], str], ...] = (
    (("authentication failed", "could not read username", "could not read password", "terminal prompts disabled"),
     f"authentication failed: {_CREDENTIALS}"),
    (("permission denied (publickey", "permission denied, please try again"),
     f"SSH authentication failed: {_CREDENTIALS}"),
    (("host key verification failed", "remote host identification has changed"),
     "the SSH host key does not match the one known for this host"),
    (("could not resolve host", "could not resolve hostname", "name or service not known"),
     "the host name does not resolve"),
    (("connection refused", "couldn't connect to server", "failed to connect"), "the connection was refused"),
    (("timed out", "timeout"), "no answer in time"),
    (("ssl", "certificate", "tls", "gnutls"), "the TLS handshake failed (certificate or protocol)"),
    (("kex_exchange_identification", "bad remote protocol", "protocol mismatch", "connection closed by"),
     "the server did not answer as an SSH server"),
    (("http/0.9", "not valid: is this a git repository", "does not appear to be a git repository",
      "repository not found", "not found", "unexpected disconnect", "protocol error", "bad packet"),
     "the server did not answer as a Git repository: check the URL"),
)  # fmt: skip


def remote_failure(stderr: str, status: int) -> str:
    """What went wrong with a git call on a remote, from its stderr, without quoting it."""
    text = stderr.lower()
    match = _HTTP_STATUS.search(stderr)
    if match:
        code = int(match.group(1) or match.group(2))
        if code in (401, 403):
            return f"{status_text(code)}: {_CREDENTIALS}"
        return status_text(code)
    for words, description in _KNOWN:
        if any(word in text for word in words):
            return description
    return f"git ended with exit status {status}"
