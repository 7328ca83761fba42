"""Where Redis is, from the environment: one URL, or Sentinels, passwords and TLS, and what the
Celery broker and result backend are told (reconciler/state/connection.py)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from reconciler.settings import Settings, SettingsError
from reconciler.state.connection import redis_endpoint

SENTINELS = {
    "RECONCILER_REDIS_SENTINELS": "redis-0.redis:26379, redis-1.redis:26379,redis-2.redis",
    "RECONCILER_REDIS_MASTER": "mymaster",
    "RECONCILER_REDIS_PASSWORD": "p@ss/word",
    "RECONCILER_REDIS_SENTINEL_PASSWORD": "sentinel-secret",
}


def test_sentinels_are_host_port_pairs_with_sentinels_default_port() -> None:
    config = Settings.from_env(SENTINELS).redis
    assert config.sentinels == (("redis-0.redis", 26379), ("redis-1.redis", 26379), ("redis-2.redis", 26379))
    assert config.master == "mymaster" and config.wait_replicas == 1


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RECONCILER_REDIS_SENTINELS": "a:26379"}, "RECONCILER_REDIS_MASTER"),
        ({**SENTINELS, "RECONCILER_REDIS_SENTINELS": "a:port"}, "'a:port'"),
        ({**SENTINELS, "REDIS_URL": "redis://r:6379/0"}, "REDIS_URL and RECONCILER_REDIS_SENTINELS"),
        ({"RECONCILER_REDIS_MASTER": "mymaster"}, "RECONCILER_REDIS_SENTINELS"),
        ({"RECONCILER_REDIS_TLS_CA_FILE": "/etc/hostname"}, "RECONCILER_REDIS_TLS=true"),
        ({"RECONCILER_REDIS_TLS": "true", "RECONCILER_REDIS_TLS_CA_FILE": "/nonexistent/ca.pem"}, "cannot be read"),
    ],
    ids=["no master name", "bad port", "both a URL and Sentinels", "master without Sentinels", "CA without TLS",
         "unreadable CA"],
)
def test_a_redis_setting_that_cannot_work_is_refused_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named.replace("(", r"\(")):
        Settings.from_env(env)


def test_celery_reaches_the_sentinels_with_both_passwords_and_the_master_name() -> None:
    conf = redis_endpoint(Settings.from_env(SENTINELS)).celery_conf(visibility_timeout=90)
    urls = conf["broker_url"].split(";")
    assert urls == [f"sentinel://:p%40ss%2Fword@redis-{i}.redis:26379/0" for i in range(3)]
    assert conf["result_backend"] == conf["broker_url"]
    for options in (conf["broker_transport_options"], conf["result_backend_transport_options"]):
        assert options["master_name"] == "mymaster"
        assert options["sentinel_kwargs"] == {"password": "sentinel-secret"}
        assert options["visibility_timeout"] == 90


def test_tls_settings_reach_the_store_the_broker_and_the_sentinels(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {**SENTINELS, "RECONCILER_REDIS_TLS": "true", "RECONCILER_REDIS_TLS_CA_FILE": str(ca),
           "RECONCILER_REDIS_SENTINEL_TLS": "true", "RECONCILER_REDIS_SENTINEL_TLS_CA_FILE": str(ca)}
    conf = redis_endpoint(Settings.from_env(env)).celery_conf(visibility_timeout=90)
    expected = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": str(ca)}
    assert conf["broker_use_ssl"] == conf["redis_backend_use_ssl"] == expected
    assert conf["broker_transport_options"]["sentinel_kwargs"] == {"password": "sentinel-secret", "ssl": True,
                                                                   **expected}


def test_one_redis_url_keeps_working_and_takes_the_password_setting_when_it_has_none() -> None:
    endpoint = redis_endpoint(Settings.from_env({"REDIS_URL": "redis://r.example:6379/0",
                                                 "RECONCILER_REDIS_PASSWORD": "pw"}))
    assert not endpoint.uses_sentinel
    assert endpoint.celery_conf(visibility_timeout=1)["broker_url"] == "redis://:pw@r.example:6379/0"
    assert Settings.from_env({"REDIS_URL": "redis://r:6379/0"}).redis.wait_replicas == 0  # no replicas to wait for


def test_the_description_of_an_endpoint_never_holds_a_password() -> None:
    assert "p@ss" not in redis_endpoint(Settings.from_env(SENTINELS)).describe()
    one = redis_endpoint(Settings.from_env({"REDIS_URL": "redis://:secret@r:6379/0"}))
    assert "secret" not in one.describe() and "r:6379" in one.describe()
