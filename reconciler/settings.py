"""Configuration from the environment, read in one place.

Every variable is optional; `Settings.from_env()` is the only reader of `os.environ`
for configuration, so modules take a `Settings` rather than reaching for globals.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

WEBHOOK_PROVIDERS = ("GITHUB", "GITLAB", "BITBUCKET", "GITEA", "GENERIC")


class SettingsError(ValueError):
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


@dataclass(frozen=True)
class Settings:
    redis_url: str = ""  # empty: the embedded Redis of the data dir
    kubeconfig: str = ""
    data_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "share" / "reconciler")
    poll_interval: float = 180.0
    server: str = ""  # RECONCILER_SERVER: `reconciler app ...` talks to this API when set
    webhook_secrets: dict[str, str] = field(default_factory=dict, repr=False)
    field_manager: str = "gitops-reconciler"
    git_timeout: float = 60.0
    # How long one `git ls-remote` answers every app on a repository (webhooks bypass it).
    git_ref_cache_ttl: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = env.get("RECONCILER_DATA_DIR", "").strip()
        secrets = {
            provider.lower(): env[f"RECONCILER_WEBHOOK_{provider}_SECRET"]
            for provider in WEBHOOK_PROVIDERS
            if env.get(f"RECONCILER_WEBHOOK_{provider}_SECRET")
        }
        return cls(
            redis_url=env.get("REDIS_URL", "").strip(),
            kubeconfig=env.get("KUBECONFIG", "").strip(),
            data_dir=Path(data_dir).expanduser() if data_dir else cls().data_dir,
            poll_interval=_float(env, "RECONCILER_POLL_INTERVAL", 180.0),
            server=env.get("RECONCILER_SERVER", "").strip().rstrip("/"),
            webhook_secrets=secrets,
            git_timeout=_float(env, "RECONCILER_GIT_TIMEOUT", 60.0),
            git_ref_cache_ttl=_float(env, "RECONCILER_GIT_REF_CACHE_TTL", 10.0),
        )

    @property
    def git_cache_dir(self) -> Path:
        return self.data_dir / "git"

    @property
    def redis_data_dir(self) -> Path:
        return self.data_dir / "redis"
