"""Configuration from the environment, read in one place (values.py reads one variable,
redis.py where Redis is).

Every variable is optional; `Settings.from_env()` is the only reader of `os.environ`
for configuration, so modules take a `Settings` rather than reaching for globals.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.settings.access import OidcSettings

from reconciler.core.outbound.policy import ALLOW_VARIABLE, AllowEntry, AllowListError, parse_allow_list
from reconciler.settings.preview import PreviewSettings
from reconciler.settings.redis import RedisSettings, RedisTls
from reconciler.settings.values import (
    MIN_RENDER_MEMORY,
    SettingsError,
    _bytes,
    _choice,
    _flag,
    _float,
    _int,
    _log_format,
    _networks,
    _paths,
    _percent,
)

WEBHOOK_PROVIDERS = ("GITHUB", "GITLAB", "BITBUCKET", "GITEA", "GENERIC")
API_ROLES = ("admin", "readonly")
API_AUTH_MODES = ("token", "none")
DEFAULT_SESSION_SECONDS = 24 * 3600.0  # Argo CD's users.session.duration


def _allowed_private_hosts(env: Mapping[str, str]) -> tuple[AllowEntry, ...]:
    try:
        return parse_allow_list(env.get(ALLOW_VARIABLE, ""))
    except AllowListError as exc:
        raise SettingsError(f"{exc}; write entries like 10.0.0.0/8, git.internal or registry.internal:5000") from None


APPSET_TOKEN_VARIABLES = {
    "github": "RECONCILER_APPSET_GITHUB_TOKEN",
    "gitlab": "RECONCILER_APPSET_GITLAB_TOKEN",
    "gitea": "RECONCILER_APPSET_GITEA_TOKEN",
    "bitbucketServer": "RECONCILER_APPSET_BITBUCKET_SERVER_TOKEN",
}


def _appset_tokens(env: Mapping[str, str]) -> dict[str, str]:
    return {provider: env[var].strip() for provider, var in APPSET_TOKEN_VARIABLES.items() if env.get(var, "").strip()}


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


_TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _api_tokens(env: Mapping[str, str]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """(role, token) pairs and their names, from RECONCILER_API_TOKENS (`role:token,...`, or
    `name=role:token` to give the token a name for the audit log and policies) and the file named
    by RECONCILER_API_TOKENS_FILE (one entry a line, `#` comments; a mounted Secret). An unnamed
    token is called `<role>-<n>`, n counting the entries from 1."""
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
    names: list[str] = []
    for number, (where, entry) in enumerate(entries, start=1):
        name, eq, rest = entry.partition("=")
        # `admin:abc=` is the old form with a token ending in `=`: a name holds no colon.
        if eq and _TOKEN_NAME.fullmatch(name.strip()):
            name, entry = name.strip(), rest.strip()
        else:
            name = ""
        role, sep, token = entry.partition(":")
        role, token = role.strip().lower(), token.strip()
        # Never echo the entry: it holds a token.
        if not sep or role not in API_ROLES or not token:
            raise SettingsError(
                f"{where} must have the form ROLE:TOKEN or NAME=ROLE:TOKEN with ROLE one of {', '.join(API_ROLES)}"
            )
        name = name or f"{role}-{number}"
        if name in names:
            raise SettingsError(f"{where}: the token name {name!r} is given twice; give each token its own name")
        tokens.append((role, token))
        names.append(name)
    return tuple(tokens), tuple(names)


def _api_auth(env: Mapping[str, str], tokens: tuple[tuple[str, str], ...], sso: bool) -> str:
    mode = env.get("RECONCILER_API_AUTH", "").strip().lower() or "token"
    if mode not in API_AUTH_MODES:
        raise SettingsError(f"RECONCILER_API_AUTH={mode!r} must be one of {', '.join(API_AUTH_MODES)}")
    if mode == "none" and (tokens or sso):
        configured = "API tokens are" if tokens else "single sign-on (RECONCILER_OIDC_ISSUER) is"
        raise SettingsError(
            f"RECONCILER_API_AUTH=none turns authentication off, but {configured} configured: "
            "unset RECONCILER_API_AUTH to use them, or remove them"
        )
    return mode


@dataclass(frozen=True)
class Settings:
    redis_url: str = ""  # empty: the embedded Redis of the data dir (unless Sentinels are set)
    redis: RedisSettings = field(default_factory=RedisSettings)
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
    # How long a webhook is held and retried while Redis is unreachable (a failover) before a 503.
    webhook_hold_seconds: float = 10.0
    # REST auth: (role, token) pairs; "token" needs one, "none" (explicit) leaves the REST API open.
    api_tokens: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    api_token_names: tuple[str, ...] = ()  # the name of each of api_tokens (unnamed: `<role>-<n>`)
    api_auth: str = "token"
    # Access control (reconciler/settings/access.py reads these; docs/security.md "Access control").
    rbac_file: str = ""  # RECONCILER_RBAC_FILE: an argocd-rbac-cm ConfigMap, its data map, or a mounted dir
    external_url: str = ""  # RECONCILER_URL: where users reach the API and dashboard (SSO redirects)
    oidc: OidcSettings | None = None  # single sign-on, when RECONCILER_OIDC_ISSUER is set
    token_signing_key: str = field(default="", repr=False)  # RECONCILER_TOKEN_SIGNING_KEY: project tokens
    session_duration: float = DEFAULT_SESSION_SECONDS  # RECONCILER_SESSION_DURATION
    audit_log: str = ""  # RECONCILER_AUDIT_LOG: a file for the audit log's JSON lines; "": standard error
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
    # ApplicationSets: the share of a set's apps one run may delete (more holds the run), and the
    # SCM tokens of pull-request / SCM-provider generators without a tokenRef (never logged).
    appset_max_delete_percent: float = 50.0
    appset_tokens: dict[str, str] = field(default_factory=dict, repr=False)
    # Where each app's sync fence (a Lease, engine/cluster/fence.py) lives in its destination cluster.
    sync_fence_namespace: str = "kube-system"
    # Argo CD Notifications (reconciler/control/notifications): argocd-notifications-cm and the
    # secrets its `$key` references name; the external URL links point at (context.argocdUrl);
    # how often a delivery is tried and the first wait between tries (doubling, at most 30 s).
    notifications_file: str = ""
    notifications_secrets_file: str = ""
    public_url: str = ""
    notifications_max_attempts: int = 8
    notifications_retry_seconds: float = 1.0
    # What one render (Helm, Jsonnet, Kustomize) may use in its sandbox process: memory added
    # to the process, CPU seconds, wall-clock seconds (see render_limits_from_env).
    # Private, loopback or link-local hosts outbound fetches may reach (reconciler/core/outbound):
    # RECONCILER_ALLOWED_PRIVATE_HOSTS, read again by the policy at each connection.
    allowed_private_hosts: tuple[AllowEntry, ...] = ()
    render_memory_limit: int = 1 << 30
    render_cpu_seconds: float = 60.0
    render_timeout: float = 60.0
    # Pull-request previews: Git host tokens and API URLs, forks (reconciler/settings/preview.py).
    preview: PreviewSettings = field(default_factory=PreviewSettings)

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
        from reconciler.settings.access import access_from_env

        api_tokens, api_token_names = _api_tokens(env)
        access = access_from_env(env)
        return cls(
            redis_url=env.get("REDIS_URL", "").strip(),
            redis=RedisSettings.from_env(env),
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
            webhook_hold_seconds=_float(env, "RECONCILER_WEBHOOK_HOLD_SECONDS", 10.0),
            api_tokens=api_tokens,
            api_token_names=api_token_names,
            api_auth=_api_auth(env, api_tokens, access.oidc is not None),
            rbac_file=access.rbac_file,
            external_url=access.external_url,
            oidc=access.oidc,
            token_signing_key=access.token_signing_key,
            session_duration=access.session_duration,
            audit_log=access.audit_log,
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
            appset_max_delete_percent=_percent(env, "RECONCILER_APPSET_MAX_DELETE_PERCENT", 50.0),
            appset_tokens=_appset_tokens(env),
            sync_fence_namespace=env.get("RECONCILER_SYNC_FENCE_NAMESPACE", "").strip() or "kube-system",
            notifications_file=env.get("RECONCILER_NOTIFICATIONS_FILE", "").strip(),
            notifications_secrets_file=env.get("RECONCILER_NOTIFICATIONS_SECRETS_FILE", "").strip(),
            public_url=env.get("RECONCILER_URL", "").strip().rstrip("/"),
            notifications_max_attempts=_int(env, "RECONCILER_NOTIFICATIONS_MAX_ATTEMPTS", 8, minimum=1),
            notifications_retry_seconds=_float(env, "RECONCILER_NOTIFICATIONS_RETRY_SECONDS", 1.0),
            allowed_private_hosts=_allowed_private_hosts(env),
            render_memory_limit=render_memory,
            render_cpu_seconds=render_cpu,
            render_timeout=render_timeout,
            preview=PreviewSettings.from_env(env),
        )

    @property
    def git_cache_dir(self) -> Path:
        return self.data_dir / "git"

    @property
    def redis_data_dir(self) -> Path:
        return self.data_dir / "redis"


__all__ = [
    "APPSET_TOKEN_VARIABLES", "DEFAULT_SESSION_SECONDS", "RedisSettings", "RedisTls", "Settings", "SettingsError"
]
