"""Configuration of the HTTP API from the environment: tokens, auth mode, webhook limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.api.auth import role_of
from reconciler.settings import Settings, SettingsError


def test_tokens_come_from_the_variable_and_the_file_with_their_roles(tmp_path: Path) -> None:
    file = tmp_path / "tokens"
    file.write_text("# mounted from a Secret\nreadonly:from-file\n\n")
    settings = Settings.from_env(
        {"RECONCILER_API_TOKENS": "admin:s3cret, readonly:v1ew", "RECONCILER_API_TOKENS_FILE": str(file)}
    )
    assert settings.api_tokens == (("admin", "s3cret"), ("readonly", "v1ew"), ("readonly", "from-file"))
    assert role_of(settings, "s3cret") == "admin"
    assert role_of(settings, "from-file") == "readonly"
    assert role_of(settings, "s3cre") is None
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize("entry", ["s3cret", "root:s3cret", "admin:"])
def test_a_malformed_token_entry_is_refused_without_echoing_it(entry: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"RECONCILER_API_TOKENS": entry})
    assert "ROLE:TOKEN" in str(info.value)
    assert "s3cret" not in str(info.value)


def test_auth_none_with_tokens_configured_is_a_contradiction() -> None:
    with pytest.raises(SettingsError, match="RECONCILER_API_AUTH=none"):
        Settings.from_env({"RECONCILER_API_AUTH": "none", "RECONCILER_API_TOKENS": "admin:x"})


def test_webhook_defaults_fail_closed_with_a_one_mebibyte_cap() -> None:
    settings = Settings.from_env({})
    assert settings.webhook_allow_unsigned is False
    assert settings.webhook_max_bytes == 1024 * 1024
    assert settings.webhook_rate_limit == 60
    assert settings.api_auth == "token" and settings.api_tokens == ()
    assert settings.metrics_auth is False


def test_webhook_settings_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            "RECONCILER_WEBHOOK_ALLOW_UNSIGNED": "true",
            "RECONCILER_WEBHOOK_MAX_BYTES": "2048",
            "RECONCILER_WEBHOOK_RATE_LIMIT": "0",
            "RECONCILER_METRICS_AUTH": "yes",
        }
    )
    assert (settings.webhook_allow_unsigned, settings.webhook_max_bytes, settings.webhook_rate_limit) == (
        True,
        2048,
        0,
    )
    assert settings.metrics_auth is True
    with pytest.raises(SettingsError, match="RECONCILER_WEBHOOK_MAX_BYTES"):
        Settings.from_env({"RECONCILER_WEBHOOK_MAX_BYTES": "1MB"})
    with pytest.raises(SettingsError, match="RECONCILER_WEBHOOK_ALLOW_UNSIGNED"):
        Settings.from_env({"RECONCILER_WEBHOOK_ALLOW_UNSIGNED": "maybe"})
