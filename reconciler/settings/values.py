"""Reading one environment variable as a value of a type, or a SettingsError that names it."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

from reconciler.core.errors import InputError


class SettingsError(InputError, ValueError):
    """A configuration variable holds a value that cannot be used."""


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds; set it like {name}=180") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} must be greater than 0")
    return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number; set it like {name}={default}") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum}")
    return value


_QUANTITY_UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 10**3, "M": 10**6, "G": 10**9}
MIN_RENDER_MEMORY = 64 * 1024 * 1024


def _bytes(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    """A memory size written as Kubernetes writes quantities: `512Mi`, `1Gi`, `800M`, or bytes."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    number, factor = raw, 1
    for unit, size in _QUANTITY_UNITS.items():
        if raw.endswith(unit):
            number, factor = raw[: -len(unit)], size
            break
    try:
        value = int(float(number) * factor)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a memory size; write it like {name}=1Gi or 512Mi") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r} is below the least a render needs ({minimum >> 20}Mi)")
    return value


def _log_format(env: Mapping[str, str]) -> str:
    raw = env.get("RECONCILER_LOG_FORMAT", "").strip().lower()
    if raw not in ("", "json", "text"):
        raise SettingsError(f"RECONCILER_LOG_FORMAT={raw!r} must be json or text")
    return raw


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}={raw!r} is not a boolean; set it to true or false")


def _paths(env: Mapping[str, str], name: str) -> tuple[Path, ...]:
    """Colon-separated absolute paths (like PATH); empty entries are skipped."""
    paths = []
    for entry in env.get(name, "").split(":"):
        entry = entry.strip()
        if not entry:
            continue
        path = Path(entry).expanduser()
        if not path.is_absolute():
            raise SettingsError(f"{name} entry {entry!r} is not an absolute path; write it like /srv/git")
        paths.append(path)
    return tuple(paths)


def _networks(env: Mapping[str, str], name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for entry in env.get(name, "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise SettingsError(f"{name} entry {entry!r} is not an address or CIDR; write it like 10.0.0.0/8") from None
    return tuple(networks)


def _percent(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip().rstrip("%")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a percentage; set it like {name}=50") from None
    if not 0 <= value <= 100:
        raise SettingsError(f"{name}={raw!r} must be between 0 and 100")
    return value


# Generator provider -> the variable holding its token (pull-request and SCM-provider generators).
def _readable_file(env: Mapping[str, str], name: str) -> str:
    path = env.get(name, "").strip()
    if path and not os.access(Path(path).expanduser(), os.R_OK):
        raise SettingsError(f"{name}={path!r} cannot be read; point it at a PEM file")
    return str(Path(path).expanduser()) if path else ""


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first when unset)."""
    value = env.get(name, "").strip().lower() or choices[0]
    if value not in choices:
        raise SettingsError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value
