"""Configuration from the environment, read in one place.

Every variable is optional; `Settings.from_env()` is the only reader of `os.environ`
for configuration, so modules take a `Settings` rather than reaching for globals.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.core.outbound.policy import ALLOW_VARIABLE, AllowEntry, AllowListError, parse_allow_list

WEBHOOK_PROVIDERS = ("GITHUB", "GITLAB", "BITBUCKET", "GITEA", "GENERIC")
API_ROLES = ("admin", "readonly")
API_AUTH_MODES = ("token", "none")


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


def _allowed_private_hosts(env: Mapping[str, str]) -> tuple[AllowEntry, ...]:
    try:
        return parse_allow_list(env.get(ALLOW_VARIABLE, ""))
    except AllowListError as exc:
        raise SettingsError(f"{exc}; write entries like 10.0.0.0/8, git.internal or registry.internal:5000") from None


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
def _resource_exclusions(env: Mapping[str, str]) -> tuple[str, ...]:
    """RECONCILER_RESOURCE_EXCLUSIONS: `group/Kind` patterns (shell wildcards, `/Kind` for the
    core group), comma-separated, that the watcher does not watch, besides the built-in noisy
    kinds (Events, Leases, EndpointSlices, ...). Like Argo CD's `resource.exclusions`."""
    patterns: list[str] = []
    for item in env.get("RECONCILER_RESOURCE_EXCLUSIONS", "").split(","):
        item = item.strip()
        if not item:
            continue
        _group, sep, kind = item.partition("/")
        if not sep or not kind or "/" in kind:
            raise SettingsError(
                f"RECONCILER_RESOURCE_EXCLUSIONS entry {item!r} must be GROUP/KIND, e.g. "
                "metrics.k8s.io/* or /ConfigMap for the core group"
            )
        patterns.append(item)
    return tuple(patterns)


def _api_tokens(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """(role, token) pairs from RECONCILER_API_TOKENS (`role:token,...`) and the file named by
    RECONCILER_API_TOKENS_FILE (one `role:token` a line, `#` comments; a mounted Secret)."""
    entries: list[tuple[str, str]] = [
        (f"RECONCILER_API_TOKENS entry {i}", item.strip())
        for i, item in enumerate(env.get("RECONCILER_API_TOKENS", "").split(","), start=1)
        if item.strip()
    ]
    path = env.get("RECONCILER_API_TOKENS_FILE", "").strip()
    if path:
        try:
            lines = Path(path).expanduser().read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SettingsError(f"RECONCILER_API_TOKENS_FILE={path!r} cannot be read: {exc.strerror}") from None
        entries += [
            (f"{path} line {n}", line.strip())
            for n, line in enumerate(lines, start=1)
            if line.strip() and not line.strip().startswith("#")
        ]
    tokens: list[tuple[str, str]] = []
    for where, entry in entries:
        role, sep, token = entry.partition(":")
        role, token = role.strip().lower(), token.strip()
        # Never echo the entry: it holds a token.
        if not sep or role not in API_ROLES or not token:
            raise SettingsError(f"{where} must have the form ROLE:TOKEN with ROLE one of {', '.join(API_ROLES)}")
        tokens.append((role, token))
    return tuple(tokens)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first when unset)."""
    value = env.get(name, "").strip().lower() or choices[0]
    if value not in choices:
        raise SettingsError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def _api_auth(env: Mapping[str, str], tokens: tuple[tuple[str, str], ...]) -> str:
    mode = env.get("RECONCILER_API_AUTH", "").strip().lower() or "token"
    if mode not in API_AUTH_MODES:
        raise SettingsError(f"RECONCILER_API_AUTH={mode!r} must be one of {', '.join(API_AUTH_MODES)}")
    if mode == "none" and tokens:
        raise SettingsError(
            "RECONCILER_API_AUTH=none turns authentication off, but API tokens are configured: "
            "unset RECONCILER_API_AUTH to use the tokens, or remove the tokens"
        )
    return mode


@dataclass(frozen=True)
class Settings:
    redis_url: str = ""  # empty: the embedded Redis of the data dir
    kubeconfig: str = ""
    data_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "share" / "reconciler")
    poll_interval: float = 180.0
    server: str = ""  # RECONCILER_SERVER: `reconciler app ...` talks to this API when set
    api_token: str = field(default="", repr=False)  # RECONCILER_API_TOKEN: the token those commands send
    webhook_secrets: dict[str, str] = field(default_factory=dict, repr=False)
    field_manager: str = "gitops-reconciler"
    git_timeout: float = 60.0
    log_format: str = ""  # RECONCILER_LOG_FORMAT: json | text; "" picks json unless on a terminal
    # How long one `git ls-remote` answers every app on a repository (webhooks bypass it).
    git_ref_cache_ttl: float = 10.0
    # HTTP API (reconciler/api.py). Webhooks: unsigned hooks refused unless allowed; body cap;
    # requests per minute per client address (0: no limit).
    webhook_allow_unsigned: bool = False
    webhook_max_bytes: int = 1024 * 1024
    webhook_rate_limit: int = 60
    # REST auth: (role, token) pairs; "token" needs one, "none" (explicit) leaves the REST API open.
    api_tokens: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    api_auth: str = "token"
    metrics_auth: bool = False  # true: GET /metrics needs any valid token
    # "direct": the API calls clusters itself (diff?refresh, dry-run sync, cascade delete, the
    # dashboard's live tree); "workers": it asks a worker, so it needs no cluster credentials.
    api_cluster_access: str = "direct"
    # The watcher (reconciler/live): kinds it does not watch, how long its hold on a cluster
    # lasts without renewal (another watcher takes over after it), and the least time
    # between two polls it queues for one app (a rollout's Pod events make a few polls).
    resource_exclusions: tuple[str, ...] = ()
    watch_lease_ttl: float = 15.0
    watch_debounce: float = 1.0
    # Argo CD resource customizations (reconciler/engine/health/rules/configured.py): an argocd-cm
    # ConfigMap file, and a directory in Argo CD's resource_customizations layout.
    resource_customizations_file: str = ""
    resource_customizations_dir: str = ""
    # Local paths / file:// repoURLs are read only under these roots (never the data dir).
    local_repo_roots: tuple[Path, ...] = ()
    # Proxies whose X-Forwarded-For / -Proto the API believes (comma-separated CIDRs; none when unset).
    encryption_key: str = field(default="", repr=False)  # RECONCILER_ENCRYPTION_KEY: seals Secrets in Redis
    flower_basic_auth: str = field(default="", repr=False)  # RECONCILER_FLOWER_BASIC_AUTH user:password
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # Pause between sync waves once a wave is healthy (Argo CD waits 2 s), and how long a sync
    # waits for a kind to be served (SkipDryRunOnMissingResource, a CRD installed elsewhere).
    sync_wave_delay: float = 2.0
    missing_kind_timeout: float = 300.0
    # What one render (Helm, Jsonnet, Kustomize) may use in its sandbox process: memory added
    # to the process, CPU seconds, wall-clock seconds (see render_limits_from_env).
    # Private, loopback or link-local hosts outbound fetches may reach (reconciler/core/outbound):
    # RECONCILER_ALLOWED_PRIVATE_HOSTS, read again by the policy at each connection.
    allowed_private_hosts: tuple[AllowEntry, ...] = ()
    render_memory_limit: int = 1 << 30
    render_cpu_seconds: float = 60.0
    render_timeout: float = 60.0

    @staticmethod
    def resource_customizations_from_env(env: Mapping[str, str] | None = None) -> tuple[str, str]:
        """(RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE, ..._DIR) alone: health assessment reads them
        for every object it judges, where parsing every setting would cost more than judging."""
        env = os.environ if env is None else env
        return (
            env.get("RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE", "").strip(),
            env.get("RECONCILER_RESOURCE_CUSTOMIZATIONS_DIR", "").strip(),
        )

    @staticmethod
    def render_limits_from_env(env: Mapping[str, str] | None = None) -> tuple[int, float, float]:
        """(memory bytes, CPU seconds, timeout seconds) of one render: RECONCILER_RENDER_MEMORY_LIMIT
        (default 1Gi), RECONCILER_RENDER_CPU_SECONDS (60), RECONCILER_RENDER_TIMEOUT (60). The
        timeout is held to half of RECONCILER_TASK_TIME_LIMIT, so a render is stopped by its own
        limit, with a condition, before the task's limit ends the worker process running it."""
        env = os.environ if env is None else env
        memory = _bytes(env, "RECONCILER_RENDER_MEMORY_LIMIT", 1 << 30, MIN_RENDER_MEMORY)
        cpu = _float(env, "RECONCILER_RENDER_CPU_SECONDS", 60.0)
        timeout = _float(env, "RECONCILER_RENDER_TIMEOUT", 60.0)
        task_limit = _float(env, "RECONCILER_TASK_TIME_LIMIT", 120.0)
        return memory, cpu, min(timeout, task_limit / 2)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        customizations = cls.resource_customizations_from_env(env)
        render_memory, render_cpu, render_timeout = cls.render_limits_from_env(env)
        data_dir = env.get("RECONCILER_DATA_DIR", "").strip()
        secrets = {
            provider.lower(): env[f"RECONCILER_WEBHOOK_{provider}_SECRET"]
            for provider in WEBHOOK_PROVIDERS
            if env.get(f"RECONCILER_WEBHOOK_{provider}_SECRET")
        }
        api_tokens = _api_tokens(env)
        return cls(
            redis_url=env.get("REDIS_URL", "").strip(),
            kubeconfig=env.get("KUBECONFIG", "").strip(),
            data_dir=Path(data_dir).expanduser() if data_dir else cls().data_dir,
            poll_interval=_float(env, "RECONCILER_POLL_INTERVAL", 180.0),
            server=env.get("RECONCILER_SERVER", "").strip().rstrip("/"),
            api_token=env.get("RECONCILER_API_TOKEN", "").strip(),
            webhook_secrets=secrets,
            git_timeout=_float(env, "RECONCILER_GIT_TIMEOUT", 60.0),
            log_format=_log_format(env),
            git_ref_cache_ttl=_float(env, "RECONCILER_GIT_REF_CACHE_TTL", 10.0),
            webhook_allow_unsigned=_flag(env, "RECONCILER_WEBHOOK_ALLOW_UNSIGNED"),
            webhook_max_bytes=_int(env, "RECONCILER_WEBHOOK_MAX_BYTES", 1024 * 1024, minimum=1),
            webhook_rate_limit=_int(env, "RECONCILER_WEBHOOK_RATE_LIMIT", 60),
            api_tokens=api_tokens,
            api_auth=_api_auth(env, api_tokens),
            metrics_auth=_flag(env, "RECONCILER_METRICS_AUTH"),
            api_cluster_access=_choice(env, "RECONCILER_API_CLUSTER_ACCESS", ("direct", "workers")),
            resource_exclusions=_resource_exclusions(env),
            watch_lease_ttl=_float(env, "RECONCILER_WATCH_LEASE_TTL", 15.0),
            watch_debounce=_float(env, "RECONCILER_WATCH_DEBOUNCE", 1.0),
            resource_customizations_file=customizations[0],
            resource_customizations_dir=customizations[1],
            local_repo_roots=_paths(env, "RECONCILER_LOCAL_REPO_ROOTS"),
            encryption_key=env.get("RECONCILER_ENCRYPTION_KEY", "").strip(),
            # Flower's own variable too (compose and the Helm chart set that one).
            flower_basic_auth=(env.get("RECONCILER_FLOWER_BASIC_AUTH", "") or env.get("FLOWER_BASIC_AUTH", "")).strip(),
            trusted_proxies=_networks(env, "RECONCILER_TRUSTED_PROXIES"),
            sync_wave_delay=_float(env, "RECONCILER_SYNC_WAVE_DELAY", 2.0),
            missing_kind_timeout=_float(env, "RECONCILER_SYNC_MISSING_KIND_TIMEOUT", 300.0),
            allowed_private_hosts=_allowed_private_hosts(env),
            render_memory_limit=render_memory,
            render_cpu_seconds=render_cpu,
            render_timeout=render_timeout,
        )

    @property
    def git_cache_dir(self) -> Path:
        return self.data_dir / "git"

    @property
    def redis_data_dir(self) -> Path:
        return self.data_dir / "redis"
