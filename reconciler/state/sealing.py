"""Kubernetes Secrets never rest in Redis in clear: they are sealed (Fernet: AES-128-CBC +
HMAC-SHA256) before a payload is written and unsealed when it is read.

Operation records (`rc:op:*`) keep the objects a sync applies, and the render cache
(`rc:render:*`) keeps rendered manifests; both may hold Secrets. Anyone who can read Redis
(a backup, a `MONITOR`, a misconfigured network) would read them. So every payload the Store
writes is walked, and each object of kind `Secret` (core/v1) is replaced by
`{"$sealed": "<token>"}`; everything else stays readable (the Lua scripts read an
operation's `step`).

The key: RECONCILER_ENCRYPTION_KEY (any string of at least 32 characters; its SHA-256 is the
Fernet key), or when unset a random key generated once into `<data dir>/encryption.key`
(mode 0600), which serves one machine or processes sharing the data dir. Processes on several
machines (compose, Helm) must share one key: both set RECONCILER_ENCRYPTION_KEY from a
generated secret. A payload sealed with another key cannot be read: a cached render is then
rendered again; an operation record is reported as unreadable, naming the variable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from reconciler.core.errors import InputError

SEALED = "$sealed"
KEY_FILE = "encryption.key"
MIN_KEY_CHARS = 32


class UnsealError(InputError, RuntimeError):
    """A sealed value cannot be opened with this process's key."""


def is_secret(obj: dict[str, Any]) -> bool:
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def _fernet_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


def key_from_file(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        # O_EXCL: when two processes start at once, one writes the key and the other reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(key)
    return key


class Sealer:
    """Seals the Secrets in a JSON-able payload, and opens them again."""

    def __init__(self, key: str = "", key_file: Path | None = None) -> None:
        if key and len(key) < MIN_KEY_CHARS:
            raise ValueError(
                f"RECONCILER_ENCRYPTION_KEY has {len(key)} characters; use at least {MIN_KEY_CHARS} random ones "
                "(e.g. `openssl rand -base64 48`)"
            )
        self._key = key
        self._key_file = key_file
        self._fernet: Fernet | None = None

    @classmethod
    def from_env(cls) -> Sealer:
        from reconciler.settings import Settings

        settings = Settings.from_env()
        return cls(settings.encryption_key, settings.data_dir / KEY_FILE)

    @property
    def fernet(self) -> Fernet:
        # Made on first use: a Store that never meets a Secret never reads or creates a key file.
        if self._fernet is None:
            key = self._key
            if not key:
                if self._key_file is None:
                    raise UnsealError("no encryption key: set RECONCILER_ENCRYPTION_KEY")
                key = key_from_file(self._key_file)
            self._fernet = Fernet(_fernet_key(key))
        return self._fernet

    def seal(self, value: Any) -> Any:
        """`value` with every Secret object in it replaced by its sealed form."""
        if isinstance(value, dict):
            if is_secret(value):
                token = self.fernet.encrypt(json.dumps(value, separators=(",", ":")).encode())
                return {SEALED: token.decode()}
            return {k: self.seal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.seal(item) for item in value]
        return value

    def unseal(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1 and isinstance(value.get(SEALED), str):
                try:
                    return json.loads(self.fernet.decrypt(value[SEALED].encode()))
                except InvalidToken:
                    raise UnsealError(
                        "a Secret stored in Redis was sealed with another encryption key: give every process "
                        "the same RECONCILER_ENCRYPTION_KEY"
                    ) from None
            return {k: self.unseal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.unseal(item) for item in value]
        return value
