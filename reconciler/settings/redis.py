"""Where Redis is: one server (REDIS_URL, else the embedded one) or a Sentinel-managed group,
with TLS towards either; reconciler/state/connection.py builds every client from this."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.settings.values import SettingsError, _flag, _float, _int, _readable_file


def _sentinels(env: Mapping[str, str]) -> tuple[tuple[str, int], ...]:
    """RECONCILER_REDIS_SENTINELS: `host:port,...` (a bare host means port 26379, Sentinel's own)."""
    sentinels: list[tuple[str, int]] = []
    for item in env.get("RECONCILER_REDIS_SENTINELS", "").split(","):
        item = item.strip()
        if not item:
            continue
        if item.startswith("["):  # [IPv6]:port
            host, _, port = item[1:].partition("]")
            port = port.removeprefix(":") or "26379"
        elif item.count(":") == 1:
            host, _, port = item.partition(":")
        else:
            host, port = item, "26379" if ":" not in item else ""
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(
                f"RECONCILER_REDIS_SENTINELS entry {item!r} must be HOST:PORT, e.g. redis-sentinel-0:26379"
            )
        sentinels.append((host, int(port)))
    return tuple(sentinels)


@dataclass(frozen=True)
class RedisTls:
    """TLS towards Redis servers or Sentinels: a CA bundle to verify them, and a client
    certificate when they ask for one (`tls-auth-clients`)."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


def _redis_tls(env: Mapping[str, str], flag: str, ca: str, cert: str = "", key: str = "") -> RedisTls | None:
    """TLS when `flag` is true, with its files; files without the flag are a mistake worth naming."""
    files = {name: _readable_file(env, name) for name in (ca, cert, key) if name}
    if not _flag(env, flag):
        given = [name for name, path in files.items() if path]
        if given:
            raise SettingsError(f"{', '.join(given)} is set but {flag} is not: set {flag}=true")
        return None
    if cert and bool(files[cert]) != bool(files[key]):
        raise SettingsError(f"{cert} and {key} go together: set both or neither")
    return RedisTls(ca_file=files[ca], cert_file=files.get(cert, ""), key_file=files.get(key, ""))


@dataclass(frozen=True)
class RedisSettings:
    """Where Redis is: one server (REDIS_URL, else the embedded one) or a Sentinel-managed
    group; reconciler/state/connection.py builds every client from this."""

    url: str = ""
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = ""
    password: str = field(default="", repr=False)
    sentinel_password: str = field(default="", repr=False)
    tls: RedisTls | None = None
    sentinel_tls: RedisTls | None = None
    # Writes that must survive a failover wait for this many replicas (WAIT), this long.
    wait_replicas: int = 0
    wait_timeout: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RedisSettings:
        sentinels = _sentinels(env)
        master = env.get("RECONCILER_REDIS_MASTER", "").strip()
        url = env.get("REDIS_URL", "").strip()
        if sentinels and not master:
            raise SettingsError(
                "RECONCILER_REDIS_SENTINELS is set but RECONCILER_REDIS_MASTER is not: set it to the master "
                "name the Sentinels monitor (their `sentinel monitor NAME ...` line, e.g. mymaster)"
            )
        if master and not sentinels:
            raise SettingsError("RECONCILER_REDIS_MASTER is set but RECONCILER_REDIS_SENTINELS is not: "
                                "set RECONCILER_REDIS_SENTINELS=host:port,... (or unset the master name)")
        if sentinels and url:
            raise SettingsError("REDIS_URL and RECONCILER_REDIS_SENTINELS are both set: keep one "
                                "(REDIS_URL for one Redis, the Sentinels for a replicated group)")
        if env.get("RECONCILER_REDIS_SENTINEL_PASSWORD") and not sentinels:
            raise SettingsError("RECONCILER_REDIS_SENTINEL_PASSWORD is set but RECONCILER_REDIS_SENTINELS is not")
        sentinel_tls = _redis_tls(env, "RECONCILER_REDIS_SENTINEL_TLS", "RECONCILER_REDIS_SENTINEL_TLS_CA_FILE")
        if sentinel_tls and not sentinels:
            raise SettingsError("RECONCILER_REDIS_SENTINEL_TLS is set but RECONCILER_REDIS_SENTINELS is not")
        return cls(
            url=url,
            sentinels=sentinels,
            master=master,
            password=env.get("RECONCILER_REDIS_PASSWORD", ""),
            sentinel_password=env.get("RECONCILER_REDIS_SENTINEL_PASSWORD", ""),
            tls=_redis_tls(env, "RECONCILER_REDIS_TLS", "RECONCILER_REDIS_TLS_CA_FILE",
                           "RECONCILER_REDIS_TLS_CERT_FILE", "RECONCILER_REDIS_TLS_KEY_FILE"),
            sentinel_tls=sentinel_tls,
            # With Sentinel there are replicas to wait for; a lone Redis has none, and WAIT
            # there would only ever time out.
            wait_replicas=_int(env, "RECONCILER_REDIS_WAIT_REPLICAS", 1 if sentinels else 0),
            wait_timeout=_float(env, "RECONCILER_REDIS_WAIT_TIMEOUT", 1.0),
        )
