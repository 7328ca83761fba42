"""The `data:` of an Argo CD ConfigMap (argocd-cm, argocd-rbac-cm, ...) as a setting names it.

    read_configmap_data(path) -> dict[str, Any]   raises ConfigMapFileError naming the path

The path is either a YAML file holding a whole ConfigMap (its `data:` is read, so the ConfigMap
of an Argo CD installation works as it is, e.g. `kubectl -n argocd get cm argocd-rbac-cm -o
yaml`), or a file holding just the `data:` map, or a directory where a ConfigMap is mounted as
a volume (a file per key, as the kubelet writes it; its own `..data` entries are skipped).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from reconciler.core.errors import InputError

_CONFIGMAP_FIELDS = {"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"}


class ConfigMapFileError(InputError, ValueError):
    """The file or directory cannot be read as a ConfigMap, its data map, or a mounted ConfigMap."""


def _reason(error: Exception) -> str:
    return str(getattr(error, "strerror", None) or error)


def _mounted(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = {}
    try:
        for entry in sorted(path.iterdir()):
            if not entry.name.startswith(".") and entry.is_file():
                data[entry.name] = entry.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigMapFileError(f"{path} cannot be read: {_reason(error)}") from None
    return data


def data_of(document: Any, source: str) -> Mapping[str, Any]:
    """A parsed YAML document's ConfigMap data: its `data:` when it is a ConfigMap, else itself."""
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigMapFileError(f"{source} must hold a ConfigMap or its data: map, not a {type(document).__name__}")
    # A ConfigMap, or its fields without `kind` (e.g. only `data:`): no Argo CD key is called `data`.
    if document.get("kind") == "ConfigMap" or ("data" in document and set(document) <= _CONFIGMAP_FIELDS):
        data = document.get("data") or {}
        if not isinstance(data, Mapping):
            raise ConfigMapFileError(f"{source}: data must be a map of strings")
        return data
    return document


def read_configmap_data(path: Path) -> dict[str, Any]:
    if path.is_dir():
        return _mounted(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigMapFileError(f"{path} cannot be read: {_reason(error)}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigMapFileError(f"{path} is not valid YAML: {error}") from None
    return dict(data_of(document, str(path)))
