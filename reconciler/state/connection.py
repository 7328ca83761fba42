"""The one place that builds Redis clients: the state store's, and the Celery broker's and
result backend's settings, from `Settings.redis` (REDIS_URL, the embedded Redis, or Sentinel).

With Sentinel (`RECONCILER_REDIS_SENTINELS`, `RECONCILER_REDIS_MASTER`) every client asks the
Sentinels for the current primary on each new connection; when the primary dies, a command
fails with a connection error (or, on a primary demoted to replica, READONLY, which redis-py's
Sentinel connection turns into a connection error), the connection is dropped, and the retry
below asks the Sentinels again, with backoff, until the new primary answers. The retries
span about `FAILOVER_RETRY_SECONDS`, longer than a failover with the chart's Sentinel timings
(down-after 5 s, then an election of about a second).

Kombu (broker) and Celery (results) get the same addresses, passwords and TLS options as
their `sentinel://` URLs and transport options, so workers, beat, the watcher, the API and
the CLI all reach the same primary.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import redis
from redis.backoff import EqualJitterBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from reconciler.settings import RedisSettings, RedisTls, Settings

# Exceptions after which a command is sent again (to the new primary, found through Sentinel).
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError)
FAILOVER_RETRIES = 20  # 0.05 s doubling to 1 s, with jitter: about 12 s in all
FAILOVER_RETRY_SECONDS = 12
CONNECT_TIMEOUT_SECONDS = 3.0


def failover_retry() -> Retry:
    return Retry(EqualJitterBackoff(cap=1.0, base=0.05), FAILOVER_RETRIES)


def _keepalive_options() -> dict[int, int]:
    """A peer whose machine vanished (no RST) is noticed in about 11 s, not the kernel's 2 h."""
    wanted = {"TCP_KEEPIDLE": 5, "TCP_KEEPINTVL": 2, "TCP_KEEPCNT": 3}
    return {getattr(socket, name): value for name, value in wanted.items() if hasattr(socket, name)}


def _tls_options(tls: RedisTls | None) -> dict[str, Any]:
    """redis-py's TLS keywords (the names kombu's `broker_use_ssl` and Celery's
    `redis_backend_use_ssl` take too). Certificates are always verified."""
    if tls is None:
        return {}
    options: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    if tls.ca_file:
        options["ssl_ca_certs"] = tls.ca_file
    if tls.cert_file:
        options["ssl_certfile"] = tls.cert_file
        options["ssl_keyfile"] = tls.key_file
    return options


@dataclass(frozen=True)
class RedisEndpoint:
    """Where this process's Redis is, resolved once: one URL, or Sentinels and a master name."""

    config: RedisSettings
    url: str = ""  # one Redis (REDIS_URL or the embedded one); empty with Sentinel

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.config.sentinels)

    def describe(self) -> str:
        """For logs and error messages: never a password."""
        if self.uses_sentinel:
            where = ",".join(f"{h}:{p}" for h, p in self.config.sentinels)
            return f"Sentinel master {self.config.master!r} via {where}"
        parts = urlsplit(self.url)
        host = parts.hostname or "127.0.0.1"
        return urlunsplit((parts.scheme, f"{host}:{parts.port or 6379}", parts.path, "", ""))

    # the state store -----------------------------------------------------------------

    def client(self, decode_responses: bool = True) -> redis.Redis:
        """A client of the primary that rides out a failover (see the module's docstring)."""
        common: dict[str, Any] = {
            "decode_responses": decode_responses,
            "health_check_interval": 30,
            "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "socket_keepalive": True,
            "socket_keepalive_options": _keepalive_options(),
            "retry": failover_retry(),
            "retry_on_error": list(RETRYABLE_ERRORS),
            **_tls_options(self.config.tls),
        }
        if not self.uses_sentinel:
            url = self.url
            if self.config.tls and url.startswith("redis://"):
                url = "rediss://" + url.removeprefix("redis://")
            if self.config.password and not urlsplit(url).password:
                common["password"] = self.config.password
            return redis.Redis.from_url(url, **common)
        if self.config.tls:
            common["ssl"] = True  # redis-py's Sentinel pool takes the TLS connection class only when told
        return self.sentinel().master_for(
            self.config.master, redis_class=redis.Redis, password=self.config.password or None, **common
        )

    def sentinel(self) -> Sentinel:
        sentinel_kwargs: dict[str, Any] = {
            "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "socket_timeout": CONNECT_TIMEOUT_SECONDS,
            **_tls_options(self.config.sentinel_tls),
        }
        if self.config.sentinel_tls:
            sentinel_kwargs["ssl"] = True
        if self.config.sentinel_password:
            sentinel_kwargs["password"] = self.config.sentinel_password
        return Sentinel(list(self.config.sentinels), sentinel_kwargs=sentinel_kwargs)

    # Celery --------------------------------------------------------------------------

    def celery_conf(self, visibility_timeout: float) -> dict[str, Any]:
        """broker_url, result_backend and their transport options for `app.conf.update`."""
        transport: dict[str, Any] = {"visibility_timeout": visibility_timeout}
        conf: dict[str, Any] = {}
        if self.uses_sentinel:
            auth = f":{quote(self.config.password, safe='')}@" if self.config.password else ""
            url = ";".join(f"sentinel://{auth}{_host(h)}:{p}/0" for h, p in self.config.sentinels)
            sentinel_kwargs: dict[str, Any] = {}
            if self.config.sentinel_password:
                sentinel_kwargs["password"] = self.config.sentinel_password
            if self.config.sentinel_tls:
                sentinel_kwargs.update(ssl=True, **_tls_options(self.config.sentinel_tls))
            transport.update(master_name=self.config.master, sentinel_kwargs=sentinel_kwargs)
        else:
            url = self.url
            if self.config.password and not urlsplit(url).password:
                parts = urlsplit(url)
                netloc = f":{quote(self.config.password, safe='')}@{parts.netloc}"
                url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        if self.config.tls:
            conf["broker_use_ssl"] = _tls_options(self.config.tls)
            conf["redis_backend_use_ssl"] = _tls_options(self.config.tls)
        conf.update(
            broker_url=url,
            result_backend=url,
            broker_transport_options=transport,
            result_backend_transport_options=dict(transport),
        )
        return conf


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def redis_endpoint(settings: Settings, start_embedded: bool = True) -> RedisEndpoint:
    """The Redis of these settings: the Sentinels' primary, REDIS_URL, else the embedded Redis of
    the data dir (started on demand unless `start_embedded` is false)."""
    config = settings.redis
    if config.sentinels:
        return RedisEndpoint(config)
    url = config.url or settings.redis_url
    if not url:
        from reconciler.state.embedded_redis import embedded_redis_url

        url = embedded_redis_url(settings, start=start_embedded)
    return RedisEndpoint(config, url=url)
