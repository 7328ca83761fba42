"""Redis over TLS end to end: real `redis-server`s listening for TLS only on free ports, with
certificates of a CA made in the test, reached through the settings every process reads
(RECONCILER_REDIS_TLS, RECONCILER_REDIS_TLS_CA_FILE, the client certificate pair, and
RECONCILER_REDIS_SENTINEL_TLS for Sentinels) by the state store and by a Celery worker using
the broker and result backend options the product builds (reconciler/state/connection.py)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from reconciler.settings import Settings
from reconciler.state import Store
from reconciler.state.connection import redis_endpoint
from reconciler.state.redis_server import find_redis_binary, free_port
from reconciler.state.sentinel_group import SentinelGroup, TlsFiles
from tests.tls_certs import Certificates, make_certificates

PASSWORD = "tls-test-password-0123"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "tls")


@contextmanager
def tls_redis(certs: Certificates, workdir: Path, *, client_certificates: bool = False) -> Iterator[int]:
    """One redis-server answering TLS only (`port 0`), with a password; yields its port."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "redis.conf"
    config.write_text("\n".join([
        "bind 127.0.0.1", "port 0", f"tls-port {port}", f'tls-cert-file "{certs.cert}"',
        f'tls-key-file "{certs.key}"', f'tls-ca-cert-file "{certs.ca}"',
        f"tls-auth-clients {'yes' if client_certificates else 'no'}", f'dir "{workdir}"', 'save ""',
        f"requirepass {PASSWORD}", "maxmemory-policy noeviction", f'logfile "{workdir / "redis.log"}"',
    ]) + "\n")  # fmt: skip
    proc = subprocess.Popen([find_redis_binary(), str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        probe = redis.Redis(port=port, password=PASSWORD, ssl=True, ssl_ca_certs=str(certs.ca),
                            ssl_certfile=str(certs.cert), ssl_keyfile=str(certs.key), socket_timeout=1)  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                probe.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(f"redis-server with TLS did not start; see {workdir / 'redis.log'}") from None
                time.sleep(0.05)
        probe.close()
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def settings_of(env: dict[str, str], tmp_path: Path) -> Settings:
    return Settings.from_env({"RECONCILER_DATA_DIR": str(tmp_path / "data"), **env})


def celery_round_trip(settings: Settings) -> Any:
    """A task sent through the broker and its result read from the backend, both as configured
    for these settings, by a worker in this process."""
    from celery import Celery
    from celery.contrib.testing.worker import start_worker

    app = Celery(f"tls-{free_port()}")
    app.conf.update(redis_endpoint(settings).celery_conf(visibility_timeout=60))

    @app.task(name=f"{app.main}.add")  # one name per app: the registry of task names is shared
    def add(a: int, b: int) -> int:
        return a + b

    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False, shutdown_timeout=10):
        return add.delay(2, 3).get(timeout=30)


def test_one_redis_over_tls_serves_the_store_and_celery(certificates: Certificates, tmp_path: Path) -> None:
    with tls_redis(certificates, tmp_path / "redis") as port:
        settings = settings_of({
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",  # made rediss:// by RECONCILER_REDIS_TLS
            "RECONCILER_REDIS_TLS": "true", "RECONCILER_REDIS_TLS_CA_FILE": str(certificates.ca),
            "RECONCILER_REDIS_PASSWORD": PASSWORD,
        }, tmp_path)  # fmt: skip
        store = Store(redis_endpoint(settings).client())
        store.r.set("rc:tls-probe", "over tls")
        assert store.r.get("rc:tls-probe") == "over tls"
        assert store.r.connection_pool.connection_kwargs["ssl_cert_reqs"] is not None
        assert celery_round_trip(settings) == 5


def test_a_redis_that_asks_for_a_client_certificate_gets_the_configured_one(
    certificates: Certificates, tmp_path: Path
) -> None:
    with tls_redis(certificates, tmp_path / "redis", client_certificates=True) as port:
        base = {"REDIS_URL": f"rediss://127.0.0.1:{port}/0", "RECONCILER_REDIS_TLS": "true",
                "RECONCILER_REDIS_TLS_CA_FILE": str(certificates.ca),
                "RECONCILER_REDIS_PASSWORD": PASSWORD}  # fmt: skip
        without = redis_endpoint(settings_of(base, tmp_path)).client()
        with pytest.raises(redis.ConnectionError):
            without.ping()
        settings = settings_of({**base, "RECONCILER_REDIS_TLS_CERT_FILE": str(certificates.cert),
                                "RECONCILER_REDIS_TLS_KEY_FILE": str(certificates.key)}, tmp_path)  # fmt: skip
        assert redis_endpoint(settings).client().ping()
        assert celery_round_trip(settings) == 5


def test_a_redis_whose_certificate_another_ca_signed_is_refused_naming_the_verification(
    certificates: Certificates, tmp_path: Path
) -> None:
    other = make_certificates(tmp_path / "other")
    with tls_redis(certificates, tmp_path / "redis") as port:
        settings = settings_of({"REDIS_URL": f"rediss://127.0.0.1:{port}/0", "RECONCILER_REDIS_TLS": "true",
                                "RECONCILER_REDIS_TLS_CA_FILE": str(other.ca),
                                "RECONCILER_REDIS_PASSWORD": PASSWORD}, tmp_path)  # fmt: skip
        client = redis_endpoint(settings).client()
        client.connection_pool.connection_kwargs["retry"] = None  # one attempt: the answer will not change
        with pytest.raises(redis.ConnectionError, match=r"(?i)certificate verify failed"):
            client.ping()


@pytest.mark.timeout(180)
def test_sentinels_and_servers_over_tls_serve_the_store_and_celery_across_a_failover(
    certificates: Certificates, tmp_path: Path
) -> None:
    tls = TlsFiles(str(certificates.ca), str(certificates.cert), str(certificates.key))
    with SentinelGroup(tmp_path / "redis", servers=2, sentinels=3, tls=tls) as group:
        settings = settings_of(group.environment(), tmp_path)
        assert settings.redis.tls is not None and settings.redis.sentinel_tls is not None
        store = Store(redis_endpoint(settings).client())
        store.r.set("rc:tls-probe", "before")
        assert celery_round_trip(settings) == 5
        group.wait_until_replicated()
        group.kill_primary()
        assert store.r.get("rc:tls-probe") == "before"  # read from the promoted replica, over TLS
        store.r.set("rc:tls-probe", "after")
        assert store.r.get("rc:tls-probe") == "after"
        assert celery_round_trip(settings) == 5
