"""`argocd-notifications-secret`: the values `$key` references in the ConfigMap stand for.

Read from the file RECONCILER_NOTIFICATIONS_SECRETS_FILE names (a Secret manifest with `data`,
base64, and/or `stringData`; or a flat `key: value` map; or the directory where the Secret is
mounted, one file per key, as Kubernetes mounts it) each time a notification is sent, and
used only then: never stored in Redis, put in a task message, logged or shown in an error
(`redact` takes every value out of a text before it goes anywhere).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.core.errors import InputError

# Argo CD's notifications-engine: `$` followed by word characters and dashes, anywhere in a value.
REFERENCE = re.compile(r"\$[\w-]+")


class SecretsError(InputError, ValueError):
    """The secrets file cannot be read or a reference has no value; never holds a value."""


@dataclass(frozen=True)
class Secrets:
    values: Mapping[str, str] = field(default_factory=dict, repr=False)
    source: str = "RECONCILER_NOTIFICATIONS_SECRETS_FILE (unset)"

    def resolve(self, text: str, where: str) -> str:
        """`text` with each `$key` replaced by its value; SecretsError names a missing key."""

        def value_of(match: re.Match[str]) -> str:
            key = match.group()[1:]
            if key not in self.values:
                raise SecretsError(f"{where}: ${key} is not a key of {self.source}; add it there")
            return self.values[key]

        return REFERENCE.sub(value_of, text)

    def resolve_tree(self, value: Any, where: str) -> Any:
        """Every string of a parsed YAML value resolved (service options are YAML maps)."""
        if isinstance(value, str):
            return self.resolve(value, where)
        if isinstance(value, dict):
            return {k: self.resolve_tree(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve_tree(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    def redact(self, text: str) -> str:
        """`text` with every secret value (of 4 characters or more) replaced by `***`."""
        for value in sorted((v for v in self.values.values() if len(v) >= 4), key=len, reverse=True):
            text = text.replace(value, "***")
        return text


def references(value: Any) -> Iterable[str]:
    """The `$key` names a parsed YAML value refers to."""
    if isinstance(value, str):
        yield from (match[1:] for match in REFERENCE.findall(value))
    elif isinstance(value, dict):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def load_secrets(path: str) -> Secrets:
    """The secrets file's values; an unset path gives none (a `$key` then cannot resolve)."""
    if not path:
        return Secrets()
    source = f"RECONCILER_NOTIFICATIONS_SECRETS_FILE {path}"
    if Path(path).is_dir():
        return Secrets(_mounted(Path(path), source), source)
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SecretsError(f"{source} cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise SecretsError(f"{source} is not valid YAML{line}") from None  # the text may hold secrets: not quoted
    if document is None:
        return Secrets({}, source)
    if not isinstance(document, dict):
        raise SecretsError(f"{source} must be a Secret manifest or a map of key: value")
    if document.get("kind") == "Secret" or "stringData" in document or "apiVersion" in document:
        return Secrets(_from_manifest(document, source), source)
    return Secrets(_strings(document, source, ""), source)


def _mounted(directory: Path, source: str) -> dict[str, str]:
    """A Secret mounted as a volume: each key a file (Kubernetes' own `..data` links and other
    dot-names are its bookkeeping, not keys); a value's trailing newline is kept, as mounted."""
    values: dict[str, str] = {}
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        try:
            values[entry.name] = entry.read_text(encoding="utf-8")
        except OSError as exc:
            raise SecretsError(f"{source}: key {entry.name} cannot be read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise SecretsError(f"{source}: key {entry.name} is not UTF-8 text") from None
    return values


def _from_manifest(document: dict[str, Any], source: str) -> dict[str, str]:
    if document.get("kind") not in (None, "Secret"):
        raise SecretsError(f"{source}: kind {document.get('kind')!r} is not a Secret")
    values: dict[str, str] = {}
    for key, encoded in _mapping(document.get("data"), source, "data").items():
        try:
            values[key] = base64.b64decode(str(encoded), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise SecretsError(f"{source}: data.{key} is not base64-encoded UTF-8 text") from None
    # As the API server does: stringData wins over data for the same key.
    values.update(_strings(_mapping(document.get("stringData"), source, "stringData"), source, "stringData."))
    return values


def _mapping(value: Any, source: str, field_name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SecretsError(f"{source}: {field_name} must be a map of key: value")
    return value


def _strings(values: dict[str, Any], source: str, prefix: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, dict | list) or value is None:
            raise SecretsError(f"{source}: {prefix}{key} must be a string")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        out[str(key)] = value if isinstance(value, str) else text
    return out
