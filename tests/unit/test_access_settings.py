"""The access settings: named static tokens, single sign-on, sessions; each mistake names its variable."""

from __future__ import annotations

import pytest

from reconciler.settings import Settings, SettingsError

SSO = {
    "RECONCILER_OIDC_ISSUER": "https://login.example.com/realms/main/",
    "RECONCILER_OIDC_CLIENT_ID": "reconciler",
    "RECONCILER_OIDC_CLIENT_SECRET": "s3cret",
    "RECONCILER_URL": "https://gitops.example.com/",
}


def test_static_tokens_keep_the_old_form_and_take_an_optional_name() -> None:
    settings = Settings.from_env({"RECONCILER_API_TOKENS": "admin:abc=,ci=admin:x:y=,readonly:v1ew"})
    assert settings.api_tokens == (("admin", "abc="), ("admin", "x:y="), ("readonly", "v1ew"))
    assert settings.api_token_names == ("admin-1", "ci", "readonly-3")


def test_a_token_name_given_twice_is_refused_without_echoing_a_token() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"RECONCILER_API_TOKENS": "ci=admin:secret-one,ci=readonly:secret-two"})
    assert "'ci' is given twice" in str(refused.value) and "secret" not in str(refused.value)


def test_single_sign_on_reads_its_variables_with_argo_cds_defaults() -> None:
    settings = Settings.from_env(SSO)
    assert settings.oidc is not None
    assert (settings.oidc.issuer, settings.oidc.groups_claim) == ("https://login.example.com/realms/main", "groups")
    assert settings.oidc.scopes == ("openid", "profile", "email", "groups")
    assert settings.external_url == "https://gitops.example.com"
    assert "s3cret" not in repr(settings)
    assert settings.session_duration == 24 * 3600


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"RECONCILER_URL": ""}, "single sign-on needs RECONCILER_URL"),
        ({"RECONCILER_OIDC_CLIENT_ID": ""}, "set RECONCILER_OIDC_CLIENT_ID"),
        ({"RECONCILER_OIDC_ISSUER": "http://login.example.com"}, "plain http to a host other than this machine"),
        ({"RECONCILER_OIDC_SCOPES": "profile groups"}, "must include openid"),
        ({"RECONCILER_SESSION_DURATION": "soon"}, "RECONCILER_SESSION_DURATION='soon' is not a duration"),
        ({"RECONCILER_API_AUTH": "none"}, "RECONCILER_API_AUTH=none turns authentication off"),
        ({"RECONCILER_TOKEN_SIGNING_KEY": "too-short"}, "has 9 characters; use at least 32"),
    ],
)
def test_single_sign_on_mistakes_are_named(change: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        Settings.from_env({**SSO, **change})


def test_loopback_http_is_allowed_for_a_local_provider() -> None:
    env = {**SSO, "RECONCILER_OIDC_ISSUER": "http://localhost:5556", "RECONCILER_URL": "http://127.0.0.1:8080"}
    assert Settings.from_env(env).oidc is not None
