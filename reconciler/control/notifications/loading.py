"""The process's notifications configuration, loaded from the files the settings name and
loaded again when either file changes (a mounted ConfigMap or Secret is updated in place)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from reconciler.control.notifications.config import NotificationsConfig, load_config
from reconciler.control.notifications.secrets import Secrets, SecretsError, load_secrets
from reconciler.control.notifications.services.base import ConfigError
from reconciler.settings import Settings

log = logging.getLogger("reconciler.notifications")


@dataclass(frozen=True)
class Loaded:
    config: NotificationsConfig | None
    error: str  # why the configuration cannot be used; "" when it loaded


_guard = threading.Lock()
_cache: dict[tuple[str, str, str], tuple[tuple[object, ...], Loaded]] = {}


def _signature(path: str) -> tuple[object, ...]:
    if not path:
        return ()
    target = Path(path)
    try:
        if target.is_dir():
            return tuple((entry.name, entry.stat().st_mtime_ns) for entry in sorted(target.iterdir()))
        return (target.stat().st_mtime_ns, target.stat().st_size)
    except OSError:
        return ("missing",)


def notifications_config(settings: Settings) -> Loaded:
    """The configuration, or why there is none (`error`); config None and no error when
    RECONCILER_NOTIFICATIONS_FILE is unset (notifications are off)."""
    if not settings.notifications_file:
        return Loaded(None, "")
    key = (settings.notifications_file, settings.notifications_secrets_file, settings.public_url)
    signature = _signature(settings.notifications_file) + _signature(settings.notifications_secrets_file)
    with _guard:
        cached = _cache.get(key)
        if cached is not None and cached[0] == signature:
            return cached[1]
        loaded = _load(settings)
        _cache[key] = (signature, loaded)
    if loaded.error:  # once per change of the files, not at every poll
        log.error("notifications are off: %s", loaded.error)
    return loaded


def _load(settings: Settings) -> Loaded:
    try:
        secrets = load_secrets(settings.notifications_secrets_file)
        config = load_config(settings.notifications_file, secrets, public_url=settings.public_url)
    except (ConfigError, SecretsError) as exc:
        return Loaded(None, f"RECONCILER_NOTIFICATIONS_FILE {settings.notifications_file}: {exc}")
    return Loaded(config, "")


def current_secrets(settings: Settings) -> Secrets:
    """Read at each send: never cached, never stored."""
    return load_secrets(settings.notifications_secrets_file)
