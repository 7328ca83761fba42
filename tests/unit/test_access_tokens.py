"""Project role tokens and login sessions over a real Redis: issued, honoured, refreshed, revoked, expired."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.api.access import sessions
from reconciler.api.access.oidc import SsoIdentity
from reconciler.control.access import project_tokens as tokens
from reconciler.control.catalog import register
from reconciler.model import parse_manifests
from reconciler.settings import Settings
from reconciler.state import Store
from reconciler.state.sealing import Sealer

SECRET = "a-signing-secret-for-tests-0123456789abcdef"
TEAM_A = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: team-a, namespace: argocd}
spec:
  roles:
    - name: ci
      policies: ["p, proj:team-a:ci, applications, sync, team-a/*, allow"]
"""


@pytest.fixture
def store(redis_client: Any) -> Store:
    return Store(redis_client, Sealer(SECRET))


@pytest.fixture
def team_a(store: Store) -> Any:
    documents = parse_manifests(TEAM_A, "team-a.yaml")
    register(store, documents)
    return documents[0]


def test_a_project_token_stands_for_its_role_until_revoked(store: Store, team_a: Any) -> None:
    made = tokens.create_token(store, SECRET, team_a, "ci")
    who = tokens.verify_token(store, SECRET, made["token"])
    assert (who.subject, who.token_id, who.issued_at) == ("proj:team-a:ci", made["id"], made["iat"])
    assert made["exp"] == 0  # no --expires-in: never expires, as Argo CD's default
    revoked = tokens.delete_token(store, "team-a", "ci", str(made["iat"]))  # by issued-at, as Argo CD's delete-token
    assert revoked["id"] == made["id"]
    with pytest.raises(tokens.TokenRefused, match="was revoked"):
        tokens.verify_token(store, SECRET, made["token"])


def test_a_token_may_be_revoked_by_its_id(store: Store, team_a: Any) -> None:
    first, second = (tokens.create_token(store, SECRET, team_a, "ci") for _ in range(2))
    tokens.delete_token(store, "team-a", "ci", first["id"])
    assert tokens.verify_token(store, SECRET, second["token"]).token_id == second["id"]
    with pytest.raises(tokens.ProjectTokenError, match="no token with id or issued-at"):
        tokens.delete_token(store, "team-a", "ci", first["id"])


def test_an_expired_token_is_refused(store: Store, team_a: Any) -> None:
    made = tokens.create_token(store, SECRET, team_a, "ci", expires_in=60, now=1_000_000)
    assert made["exp"] == 1_000_060
    assert tokens.verify_token(store, SECRET, made["token"], now=1_000_059).role == "ci"
    with pytest.raises(tokens.TokenRefused, match="expired"):
        tokens.verify_token(store, SECRET, made["token"], now=1_000_061)


def test_a_token_signed_with_another_key_or_altered_is_refused(store: Store, team_a: Any) -> None:
    made = tokens.create_token(store, SECRET, team_a, "ci")
    with pytest.raises(tokens.TokenRefused, match="not valid"):
        tokens.verify_token(store, "another-secret-of-enough-length-0123456789", made["token"])
    header, claims, signature = made["token"].split(".")
    with pytest.raises(tokens.TokenRefused, match="not valid"):
        tokens.verify_token(store, SECRET, f"{header}.{claims}.{signature[::-1]}")


def test_a_token_stops_when_its_role_leaves_the_project(store: Store, team_a: Any) -> None:
    made = tokens.create_token(store, SECRET, team_a, "ci")
    register(store, parse_manifests(TEAM_A.split("  roles:")[0], "team-a.yaml"))
    with pytest.raises(tokens.TokenRefused, match="no longer has the role 'ci'"):
        tokens.verify_token(store, SECRET, made["token"])


def test_a_token_of_an_unknown_role_is_not_made(store: Store, team_a: Any) -> None:
    with pytest.raises(tokens.ProjectTokenError, match=r"no role 'deploy' \(its roles: ci\)"):
        tokens.create_token(store, SECRET, team_a, "deploy")


@pytest.mark.parametrize(("text", "seconds"), [("", 0), ("0", 0), ("90", 90), ("12h", 43200), ("7d", 604800)])
def test_expires_in_reads_argo_cds_forms(text: str, seconds: float) -> None:
    assert tokens.parse_expires_in(text) == seconds


def test_the_signing_secret_is_generated_once_into_the_data_dir(tmp_path: Path) -> None:
    settings = dataclasses.replace(Settings(), data_dir=tmp_path)
    first = tokens.signing_secret(settings)
    assert tokens.signing_secret(settings) == first
    assert (tmp_path / "token-signing.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(ValueError, match="at least 32"):
        tokens.signing_secret(dataclasses.replace(settings, token_signing_key="short"))


ALICE = SsoIdentity("alice-sub", "alice@example.com", ("team-a",))


def test_a_session_keeps_only_hashes_of_its_secrets(store: Store, redis_client: Any) -> None:
    issued = sessions.start_session(store, ALICE, "cli", 3600)
    stored = redis_client.get(f"rc:session:{issued.session.session_id}")
    secret = issued.access_token.rsplit(".", 1)[1]
    assert secret not in stored and issued.refresh_token.rsplit(".", 1)[1] not in stored
    assert sessions.check_access_token(store, issued.access_token) == issued.session
    assert 3500 < redis_client.ttl(f"rc:session:{issued.session.session_id}") <= 3600


def test_a_refresh_replaces_both_tokens_and_a_reused_refresh_token_ends_the_session(store: Store) -> None:
    issued = sessions.start_session(store, ALICE, "cli", 3600)
    renewed = sessions.refresh_session(store, issued.refresh_token)
    assert sessions.check_access_token(store, issued.access_token) is None
    assert sessions.check_access_token(store, renewed.access_token) is not None
    with pytest.raises(sessions.SessionRefused, match="already used"):
        sessions.refresh_session(store, issued.refresh_token)
    assert sessions.check_access_token(store, renewed.access_token) is None  # the whole session ended


def test_an_expired_or_revoked_session_is_refused(store: Store) -> None:
    now = time.time()
    issued = sessions.start_session(store, ALICE, "dashboard", 60, now=now)
    assert sessions.check_access_token(store, issued.access_token, now=now + 59) is not None
    assert sessions.check_access_token(store, issued.access_token, now=now + 60) is None
    live = sessions.start_session(store, ALICE, "dashboard", 3600)
    assert sessions.revoke_session(store, live.session.session_id)
    assert sessions.check_access_token(store, live.access_token) is None


def test_a_cli_access_token_lasts_an_hour_within_the_session(store: Store) -> None:
    now = time.time()
    issued = sessions.start_session(store, ALICE, "cli", 86400, now=now)
    assert issued.access_expires_at == now + sessions.CLI_ACCESS_SECONDS
    assert sessions.check_access_token(store, issued.access_token, now=now + 3599) is not None
    assert sessions.check_access_token(store, issued.access_token, now=now + 3601) is None
    assert issued.session.expires_at == now + 86400
