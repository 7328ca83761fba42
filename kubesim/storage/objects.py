"""Small helpers over Kubernetes objects as plain dicts."""

from __future__ import annotations

import random
import re
import time
import uuid
from typing import Any

Obj = dict[str, Any]

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# the alphabet apimachinery's rand.String uses for generateName suffixes
_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def clone(value: Any) -> Any:
    """Deep copy of JSON-shaped data, several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def now() -> str:
    """RFC 3339 UTC timestamp with second precision, as metav1.Time serialises."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_uid() -> str:
    return str(uuid.uuid4())


def generated_name(prefix: str) -> str:
    return prefix + "".join(random.choice(_NAME_SUFFIX_ALPHABET) for _ in range(5))


def meta(obj: Obj) -> dict[str, Any]:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def spec_part(obj: Obj) -> Obj:
    """Everything outside metadata and status: what metadata.generation tracks."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def without_volatile(obj: Obj) -> Obj:
    """The object minus resourceVersion and managedFields timestamps, for no-op detection."""
    m = dict(obj.get("metadata") or {})
    m.pop("resourceVersion", None)
    if "managedFields" in m:
        m["managedFields"] = [{k: v for k, v in entry.items() if k != "time"}
                              for entry in m.get("managedFields") or []]
    return {**obj, "metadata": m}


def name_error(name: str, label: bool) -> str | None:
    """The apimachinery message when `name` is not a valid DNS-1123 subdomain (or label)."""
    if label:
        if len(name) <= 63 and _DNS_LABEL.match(name):
            return None
        return ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    if len(name) <= 253 and _DNS_SUBDOMAIN.match(name):
        return None
    return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
            "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def manager_from_user_agent(user_agent: str) -> str:
    """The default field manager: the User-Agent up to its first '/', at most 128 characters."""
    return user_agent.split("/", 1)[0][:128]
