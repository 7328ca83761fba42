"""Webhook layer: provider detection, signatures, payloads and app matching.

Payload fixtures in fixtures/webhooks/ follow the providers' documented examples
(GitHub "push"/"ping", GitLab "Push events"/"Tag events", Bitbucket Cloud "repo:push",
Bitbucket Server "repo:refs_changed"/"diagnostics:ping", Gitea and Gogs "push"),
trimmed of fields nothing reads. Signatures are computed here with hmac, as the
providers compute them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest

from reconciler.api.webhook import (
    MAX_PAYLOAD_BYTES,
    PushEvent,
    WebhookError,
    detect_provider,
    matches,
    parse,
    verify,
)

FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"
SECRET = "hunter2-Sup3r-secret-value"
OTHER_SECRET = "not-the-configured-secret"
HOOK_UUID = "{8a3c4d9e-1f2b-4c5d-9e6f-7a8b9c0d1e2f}"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclasses.dataclass(frozen=True)
class Provider:
    """How one provider delivers a push: its headers, its signature, its sample payload."""

    name: str
    family: str
    fixture: str
    event_headers: dict[str, str]
    sign: Callable[[str, bytes], dict[str, str]]
    secret: str = SECRET

    def headers(self, body: bytes, secret: str | None = None) -> dict[str, str]:
        return {**self.event_headers, **self.sign(secret or self.secret, body)}


PROVIDERS = [
    Provider(
        "github",
        "github",
        "github_push.json",
        {"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
        lambda s, b: {"X-Hub-Signature-256": "sha256=" + hex_hmac(s, b)},
    ),
    Provider(
        "gitlab",
        "gitlab",
        "gitlab_push.json",
        {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e"},
        lambda s, b: {"X-Gitlab-Token": s},
    ),
    Provider(
        "bitbucket",
        "bitbucket",
        "bitbucket_cloud_push.json",
        {"X-Event-Key": "repo:push", "X-Request-UUID": "1b2c3d4e-aaaa-bbbb-cccc-000000000001"},
        lambda s, b: {"X-Hook-UUID": s},
        secret=HOOK_UUID,
    ),
    Provider(
        "bitbucket-server",
        "bitbucket",
        "bitbucket_server_refs_changed.json",
        {"X-Event-Key": "repo:refs_changed", "X-Request-Id": "0c5bd2c4-3dc1-4e5e-a2cd-bbcd5d3e6b61"},
        lambda s, b: {"X-Hub-Signature": "sha256=" + hex_hmac(s, b)},
    ),
    Provider(
        "gitea",
        "gitea",
        "gitea_push.json",
        # Gitea sends its own header and the Gogs and GitHub ones too.
        {"X-Gitea-Event": "push", "X-Gogs-Event": "push", "X-GitHub-Event": "push"},
        lambda s, b: {"X-Gitea-Signature": hex_hmac(s, b)},
    ),
    Provider(
        "gogs",
        "gitea",
        "gogs_push.json",
        {"X-Gogs-Event": "push", "X-Gogs-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473"},
        lambda s, b: {"X-Gogs-Signature": hex_hmac(s, b)},
    ),
    Provider(
        "generic",
        "generic",
        "generic_push.json",
        {},
        lambda s, b: {"X-Signature": "sha256=" + hex_hmac(s, b)},
    ),
]
BY_NAME = {p.name: p for p in PROVIDERS}
provider_cases = pytest.mark.parametrize("provider", PROVIDERS, ids=[p.name for p in PROVIDERS])


def secrets_for(provider: Provider) -> dict[str, str]:
    return {provider.family: provider.secret}


def parsed(provider: Provider) -> PushEvent:
    body = fixture(provider.fixture)
    return parse(provider.name, provider.headers(body), body)


def error_of(call: Callable[[], object]) -> WebhookError:
    with pytest.raises(WebhookError) as info:
        call()
    return info.value


# --- detection --------------------------------------------------------------------


@provider_cases
def test_detect_provider_recognises_each_provider_by_its_headers(provider: Provider) -> None:
    body = fixture(provider.fixture)
    assert detect_provider(provider.headers(body)) == provider.name


def test_detect_provider_ignores_header_name_case() -> None:
    assert detect_provider({"x-github-event": "push"}) == "github"
    assert detect_provider({"X-GITLAB-EVENT": "Push Hook"}) == "gitlab"


def test_detect_provider_tells_bitbucket_cloud_from_server_by_hook_uuid() -> None:
    assert detect_provider({"X-Event-Key": "repo:push", "X-Hook-UUID": HOOK_UUID}) == "bitbucket"
    assert detect_provider({"X-Event-Key": "repo:refs_changed", "X-Request-Id": "x"}) == "bitbucket-server"


def test_detect_provider_recognises_an_unsigned_generic_hook_by_its_event_header() -> None:
    assert detect_provider({"X-Reconciler-Event": "push"}) == "generic"


def test_detect_provider_rejects_unknown_sender_naming_expected_headers() -> None:
    error = error_of(lambda: detect_provider({"Content-Type": "application/json"}))
    assert error.status == 400
    assert "X-GitHub-Event" in str(error)
    assert "X-Signature" in str(error)


# --- signatures -------------------------------------------------------------------


@provider_cases
def test_verify_accepts_a_good_signature(provider: Provider) -> None:
    body = fixture(provider.fixture)
    verify(provider.name, provider.headers(body), body, secrets_for(provider))


@provider_cases
def test_verify_rejects_a_wrong_signature_with_401(provider: Provider) -> None:
    body = fixture(provider.fixture)
    headers = provider.headers(body, secret=OTHER_SECRET)
    error = error_of(lambda: verify(provider.name, headers, body, secrets_for(provider)))
    assert error.status == 401


@provider_cases
def test_verify_rejects_a_missing_signature_header_with_401(provider: Provider) -> None:
    body = fixture(provider.fixture)
    error = error_of(lambda: verify(provider.name, provider.event_headers, body, secrets_for(provider)))
    assert error.status == 401


@provider_cases
def test_verify_refuses_with_403_when_no_secret_is_configured(provider: Provider) -> None:
    body = fixture(provider.fixture)
    error = error_of(lambda: verify(provider.name, provider.headers(body), body, {}))
    assert error.status == 403
    assert f"RECONCILER_WEBHOOK_{provider.family.upper()}_SECRET" in str(error)
    assert "RECONCILER_WEBHOOK_ALLOW_UNSIGNED=true" in str(error)


@provider_cases
def test_verify_accepts_unsigned_hooks_when_allowed_and_no_secret_is_set(provider: Provider) -> None:
    body = fixture(provider.fixture)
    verify(provider.name, provider.event_headers, body, {}, allow_unsigned=True)


def test_verify_enforces_a_configured_secret_even_when_unsigned_hooks_are_allowed() -> None:
    github = BY_NAME["github"]
    body = fixture(github.fixture)
    error = error_of(lambda: verify("github", github.event_headers, body, {"github": SECRET}, allow_unsigned=True))
    assert error.status == 401


def test_verify_rejects_a_body_changed_after_signing() -> None:
    github = BY_NAME["github"]
    body = fixture(github.fixture)
    headers = github.headers(body)
    tampered = body.replace(b"refs/heads/main", b"refs/heads/evil")
    assert error_of(lambda: verify("github", headers, tampered, {"github": SECRET})).status == 401


def test_verify_rejects_a_github_signature_without_the_sha256_prefix() -> None:
    body = fixture("github_push.json")
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": hex_hmac(SECRET, body)}
    assert error_of(lambda: verify("github", headers, body, {"github": SECRET})).status == 401


def test_verify_uses_the_gitea_secret_for_gogs() -> None:
    gogs = BY_NAME["gogs"]
    body = fixture(gogs.fixture)
    verify("gogs", gogs.headers(body), body, {"gitea": SECRET})


def test_verify_accepts_a_bitbucket_hook_uuid_configured_without_braces() -> None:
    cloud = BY_NAME["bitbucket"]
    body = fixture(cloud.fixture)
    verify("bitbucket", cloud.headers(body), body, {"bitbucket": HOOK_UUID.strip("{}").upper()})


def test_verify_rejects_an_oversized_body_with_413() -> None:
    body = b" " * (MAX_PAYLOAD_BYTES + 1)
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + hex_hmac(SECRET, body)}
    assert error_of(lambda: verify("github", headers, body, {"github": SECRET})).status == 413


@provider_cases
def test_verify_errors_never_contain_the_secret_or_the_signature(provider: Provider) -> None:
    body = fixture(provider.fixture)
    wrong = provider.headers(body, secret=OTHER_SECRET)
    right = provider.headers(body)
    failures = [
        error_of(lambda: verify(provider.name, wrong, body, secrets_for(provider))),
        error_of(lambda: verify(provider.name, provider.event_headers, body, secrets_for(provider))),
        error_of(lambda: verify(provider.name, right, body, {})),
    ]
    leaks = {provider.secret, OTHER_SECRET, *wrong.values(), *right.values()} - set(provider.event_headers.values())
    for failure in failures:
        for leak in leaks:
            assert leak not in str(failure), f"{provider.name}: {failure} shows a secret or signature"


# --- payloads ---------------------------------------------------------------------


def test_parse_github_push() -> None:
    event = parsed(BY_NAME["github"])
    assert event == PushEvent(
        provider="github",
        repo_urls=(
            "https://github.com/Acme/gitops",
            "https://github.com/Acme/gitops.git",
            "git@github.com:Acme/gitops.git",
            "git://github.com/Acme/gitops.git",
        ),
        ref="refs/heads/main",
        before="6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        after="0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        changed_files=("apps/api/hpa.yaml", "apps/api/deployment.yaml", "README.md"),
        default_branch="main",
        is_ping=False,
    )


def test_parse_gitlab_push_collects_files_of_every_commit() -> None:
    event = parsed(BY_NAME["gitlab"])
    assert event.repo_urls[:3] == (
        "http://example.com/mike/diaspora",
        "http://example.com/mike/diaspora.git",
        "git@example.com:mike/diaspora.git",
    )
    assert (event.ref, event.after, event.default_branch) == (
        "refs/heads/main",
        "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        "main",
    )
    assert event.changed_files == (
        "envs/prod/values.yaml",
        "charts/web/templates/deployment.yaml",
        "docs/old.md",
    )


def test_parse_gitlab_tag_push_reads_the_tag_and_leaves_files_unknown() -> None:
    body = fixture("gitlab_tag_push.json")
    event = parse("gitlab", {"X-Gitlab-Event": "Tag Push Hook"}, body)
    assert (event.ref, event.before, event.changed_files) == ("refs/tags/v1.0.0", "", None)


def test_parse_gitlab_leaves_files_unknown_when_the_commit_list_is_truncated() -> None:
    data = json.loads(fixture("gitlab_push.json"))
    data["total_commits_count"] = 25  # GitLab lists at most 20 commits
    event = parse("gitlab", {"X-Gitlab-Event": "Push Hook"}, json.dumps(data).encode())
    assert event.changed_files is None


def test_parse_github_force_push_leaves_files_unknown() -> None:
    data = json.loads(fixture("github_push.json"))
    data["forced"] = True
    event = parse("github", {"X-GitHub-Event": "push"}, json.dumps(data).encode())
    assert event.changed_files is None


def test_parse_github_new_branch_has_no_before_and_unknown_files() -> None:
    data = json.loads(fixture("github_push.json"))
    data["before"] = "0" * 40
    data["created"] = True
    event = parse("github", {"X-GitHub-Event": "push"}, json.dumps(data).encode())
    assert (event.before, event.changed_files) == ("", None)


def test_parse_github_form_encoded_payload() -> None:
    body = urlencode({"payload": fixture("github_push.json").decode()}).encode()
    headers = {"X-GitHub-Event": "push", "Content-Type": "application/x-www-form-urlencoded"}
    assert parse("github", headers, body).ref == "refs/heads/main"


def test_parse_bitbucket_cloud_push_builds_the_ref_and_has_no_file_list() -> None:
    event = parsed(BY_NAME["bitbucket"])
    assert event.repo_urls == ("https://bitbucket.org/acme/gitops",)
    assert (event.ref, event.before, event.after) == (
        "refs/heads/main",
        "1e65c05c1d5171631d92438a13901ca7dae9618c",
        "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
    )
    assert event.changed_files is None


def test_parse_bitbucket_cloud_tag_push_is_a_tag_ref() -> None:
    data = json.loads(fixture("bitbucket_cloud_push.json"))
    data["push"]["changes"][0]["new"].update(type="tag", name="v2.0.0")
    data["push"]["changes"][0]["old"] = None
    event = parse("bitbucket", {"X-Event-Key": "repo:push"}, json.dumps(data).encode())
    assert (event.ref, event.before) == ("refs/tags/v2.0.0", "")


def test_parse_bitbucket_server_push_keeps_http_and_ssh_clone_urls() -> None:
    event = parsed(BY_NAME["bitbucket-server"])
    assert event.repo_urls == (
        "https://bitbucket.example.com/scm/plat/gitops.git",
        "ssh://git@bitbucket.example.com:7999/plat/gitops.git",
    )
    assert (event.ref, event.after, event.changed_files, event.default_branch) == (
        "refs/heads/master",
        "178864a7d521b6f5e720b386b2c2b0ef8563e0dc",
        None,
        "",
    )


def test_parse_gitea_push() -> None:
    event = parsed(BY_NAME["gitea"])
    assert event.provider == "gitea"
    assert event.repo_urls == (
        "http://localhost:3000/gitea/webhooks",
        "http://localhost:3000/gitea/webhooks.git",
        "ssh://gitea@localhost:2222/gitea/webhooks.git",
    )
    assert (event.ref, event.default_branch, event.changed_files) == (
        "refs/heads/develop",
        "master",
        ("clusters/dev/kustomization.yaml",),
    )


def test_parse_gogs_push() -> None:
    event = parsed(BY_NAME["gogs"])
    assert (event.provider, event.ref, event.changed_files) == ("gogs", "refs/heads/master", ("infra/namespace.yaml",))


def test_parse_generic_push() -> None:
    event = parsed(BY_NAME["generic"])
    assert event == PushEvent(
        provider="generic",
        repo_urls=("https://git.example.com/platform/deploy.git",),
        ref="refs/heads/main",
        before="a3f1c2d4e5b6a7980123456789abcdef01234567",
        after="b4e2d3c5f6a7b8091234567890abcdef12345678",
        changed_files=("services/billing/deployment.yaml",),
        default_branch="main",
    )


def test_parse_generic_push_without_changed_files_leaves_them_unknown() -> None:
    body = json.dumps({"repository": "https://git.example.com/a/b", "ref": "refs/heads/main"}).encode()
    assert parse("generic", {}, body).changed_files is None


def test_parse_recognises_a_github_ping() -> None:
    event = parse("github", {"X-GitHub-Event": "ping"}, fixture("github_ping.json"))
    assert event.is_ping
    assert event.repo_urls == ("https://github.com/Acme/gitops",)


def test_parse_recognises_a_bitbucket_server_diagnostics_ping() -> None:
    event = parse("bitbucket-server", {"X-Event-Key": "diagnostics:ping"}, fixture("bitbucket_server_ping.json"))
    assert event.is_ping


def test_parse_recognises_a_generic_ping() -> None:
    assert parse("generic", {"X-Reconciler-Event": "ping"}, b"").is_ping


@provider_cases
def test_parse_rejects_malformed_json_with_400(provider: Provider) -> None:
    body = b'{"ref": "refs/heads/main",'
    error = error_of(lambda: parse(provider.name, provider.headers(body), body))
    assert error.status == 400
    assert "not valid JSON" in str(error)


def test_parse_rejects_a_json_array_with_400() -> None:
    assert error_of(lambda: parse("github", {"X-GitHub-Event": "push"}, b"[]")).status == 400


def test_parse_rejects_a_push_without_ref_naming_the_field() -> None:
    data = json.loads(fixture("github_push.json"))
    del data["ref"]
    error = error_of(lambda: parse("github", {"X-GitHub-Event": "push"}, json.dumps(data).encode()))
    assert error.status == 400
    assert "`ref`" in str(error)


def test_parse_rejects_a_push_without_repository_url_naming_the_field() -> None:
    data = json.loads(fixture("gitea_push.json"))
    del data["repository"]
    error = error_of(lambda: parse("gitea", {"X-Gitea-Event": "push"}, json.dumps(data).encode()))
    assert error.status == 400
    assert "repository.html_url" in str(error)


@pytest.mark.parametrize(
    ("provider", "headers"),
    [
        ("github", {"X-GitHub-Event": "issues"}),
        ("gitlab", {"X-Gitlab-Event": "Merge Request Hook"}),
        ("bitbucket", {"X-Event-Key": "pullrequest:created", "X-Hook-UUID": HOOK_UUID}),
        ("bitbucket-server", {"X-Event-Key": "pr:opened"}),
        ("gitea", {"X-Gitea-Event": "issues"}),
        ("gogs", {"X-Gogs-Event": "create"}),
        ("generic", {"X-Reconciler-Event": "deploy"}),
    ],
)
def test_parse_answers_unsupported_events_with_422(provider: str, headers: dict[str, str]) -> None:
    error = error_of(lambda: parse(provider, headers, b"{}"))
    assert error.status == 422


def test_parse_answers_a_gitlab_system_hook_that_is_not_a_push_with_422() -> None:
    body = json.dumps({"object_kind": "merge_request"}).encode()
    assert error_of(lambda: parse("gitlab", {"X-Gitlab-Event": "System Hook"}, body)).status == 422


def test_parse_rejects_an_oversized_body_with_413() -> None:
    body = b" " * (MAX_PAYLOAD_BYTES + 1)
    assert error_of(lambda: parse("generic", {}, body)).status == 413


# --- matching: repository ---------------------------------------------------------

GITHUB_PUSH = PushEvent(
    provider="github",
    repo_urls=("https://github.com/Acme/gitops", "git@github.com:Acme/gitops.git"),
    ref="refs/heads/main",
    before="6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    after="0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
    changed_files=None,
    default_branch="main",
)


@pytest.mark.parametrize(
    "app_repo_url",
    [
        "https://github.com/Acme/gitops",
        "https://github.com/acme/GitOps.git",  # case, .git
        "https://github.com/Acme/gitops/",  # trailing slash
        "git@github.com:Acme/gitops.git",  # scp-like
        "ssh://git@github.com/Acme/gitops.git",  # ssh URL
        "ssh://git@github.com:22/Acme/gitops",  # default ssh port
        "https://github.com:443/Acme/gitops",  # default https port
        "https://deploy-bot@github.com/Acme/gitops.git",  # user@
        "ssh://git@ssh.github.com:443/Acme/gitops.git",  # GitHub's SSH-over-443 host
    ],
)
def test_matches_every_spelling_of_the_pushed_repository(app_repo_url: str) -> None:
    assert matches(GITHUB_PUSH, app_repo_url, "HEAD", "apps/api")


@pytest.mark.parametrize(
    "app_repo_url",
    [
        "https://github.com/Acme/gitops-staging",
        "https://github.com/Other/gitops",
        "https://gitlab.com/Acme/gitops",
        "not a url",
    ],
)
def test_does_not_match_another_repository(app_repo_url: str) -> None:
    assert not matches(GITHUB_PUSH, app_repo_url, "HEAD", "apps/api")


@pytest.mark.parametrize(
    "app_repo_url",
    ["https://bitbucket.example.com/scm/plat/gitops.git", "ssh://git@bitbucket.example.com:7999/PLAT/gitops"],
)
def test_matches_bitbucket_server_clone_urls(app_repo_url: str) -> None:
    event = parsed(BY_NAME["bitbucket-server"])
    assert matches(event, app_repo_url, "master", "")


def test_matches_bitbucket_cloud_web_url_against_clone_urls() -> None:
    event = parsed(BY_NAME["bitbucket"])
    assert matches(event, "git@bitbucket.org:acme/gitops.git", "main", "apps")


# --- matching: revision -----------------------------------------------------------


def push(ref: str, default_branch: str = "main") -> PushEvent:
    return dataclasses.replace(GITHUB_PUSH, ref=ref, default_branch=default_branch)


URL = "https://github.com/Acme/gitops.git"


def test_branch_target_matches_a_push_to_that_branch() -> None:
    assert matches(push("refs/heads/release-1.2"), URL, "release-1.2", "")


def test_branch_target_does_not_match_a_push_to_another_branch() -> None:
    assert not matches(push("refs/heads/dev"), URL, "main", "")


def test_full_branch_ref_target_matches_the_pushed_ref() -> None:
    assert matches(push("refs/heads/feature/x"), URL, "refs/heads/feature/x", "")


def test_tag_target_matches_a_push_of_that_tag() -> None:
    assert matches(push("refs/tags/v1"), URL, "v1", "")
    assert matches(push("refs/tags/v1"), URL, "refs/tags/v1", "")


def test_full_branch_ref_target_does_not_match_a_tag_of_the_same_name() -> None:
    assert not matches(push("refs/tags/v1"), URL, "refs/heads/v1", "")


def test_head_target_matches_a_push_to_the_default_branch() -> None:
    assert matches(push("refs/heads/main"), URL, "HEAD", "")
    assert matches(push("refs/heads/main"), URL, "", "")


def test_head_target_does_not_match_a_push_to_another_branch() -> None:
    assert not matches(push("refs/heads/feature"), URL, "HEAD", "")


def test_head_target_does_not_match_a_tag_push() -> None:
    assert not matches(push("refs/tags/v1"), URL, "HEAD", "")


def test_head_target_matches_any_branch_push_when_the_default_branch_is_unknown() -> None:
    assert matches(push("refs/heads/feature", default_branch=""), URL, "HEAD", "")


def test_pinned_commit_target_never_matches() -> None:
    pinned = GITHUB_PUSH.after  # even the very commit pushed: a pin does not move
    assert not matches(GITHUB_PUSH, URL, pinned, "")


def test_semver_range_target_matches_a_tag_push_but_not_a_branch_push() -> None:
    assert matches(push("refs/tags/v1.4.0"), URL, ">=1.0.0 <2.0.0", "")
    assert not matches(push("refs/heads/main"), URL, "1.*", "")


def test_a_ping_matches_no_application() -> None:
    ping = parse("github", {"X-GitHub-Event": "ping"}, fixture("github_ping.json"))
    assert not matches(ping, URL, "HEAD", "")


# --- matching: changed files ------------------------------------------------------


def changed(*files: str) -> PushEvent:
    return dataclasses.replace(GITHUB_PUSH, changed_files=files)


def test_matches_when_a_changed_file_is_under_the_app_path() -> None:
    assert matches(changed("README.md", "apps/api/deployment.yaml"), URL, "HEAD", "apps/api")


def test_does_not_match_when_no_changed_file_is_under_the_app_path() -> None:
    assert not matches(changed("apps/web/deployment.yaml", "README.md"), URL, "HEAD", "apps/api")


def test_a_sibling_directory_sharing_the_path_prefix_is_not_under_the_path() -> None:
    assert not matches(changed("apps/api-gateway/deployment.yaml"), URL, "HEAD", "apps/api")


@pytest.mark.parametrize("root", ["", ".", "/", "./"])
def test_an_app_at_the_repository_root_matches_any_change(root: str) -> None:
    assert matches(changed("docs/anything.md"), URL, "HEAD", root)


def test_an_app_path_written_with_dot_segments_still_matches() -> None:
    assert matches(changed("apps/api/deployment.yaml"), URL, "HEAD", "./apps//api/")


def test_unknown_changed_files_always_match() -> None:
    assert matches(dataclasses.replace(GITHUB_PUSH, changed_files=None), URL, "HEAD", "apps/api")


def test_a_push_that_changed_no_files_does_not_match() -> None:
    assert not matches(changed(), URL, "HEAD", "apps/api")


def test_matches_a_value_file_outside_the_app_path() -> None:
    event = changed("apps/shared/values.yaml")
    assert matches(event, URL, "HEAD", "apps/api", value_files=["values-prod.yaml", "../shared/values.yaml"])


def test_value_files_do_not_widen_the_match_to_their_directory() -> None:
    event = changed("apps/shared/other.yaml")
    assert not matches(event, URL, "HEAD", "apps/api", value_files=["../shared/values.yaml"])


def test_remote_and_ref_value_files_are_ignored() -> None:
    event = changed("values.yaml")
    value_files = ["https://example.com/values.yaml", "$values/values.yaml", "../../../outside.yaml"]
    assert not matches(event, URL, "HEAD", "apps/api", value_files=value_files)


def test_matches_manifest_generate_paths_relative_to_the_app_path() -> None:
    assert matches(changed("apps/common/labels.yaml"), URL, "HEAD", "apps/api", extra_paths="../common")


def test_matches_manifest_generate_paths_from_the_repository_root() -> None:
    event = changed("global/config.yaml")
    assert matches(event, URL, "HEAD", "apps/api", extra_paths=".;/global/config.yaml")


def test_matches_manifest_generate_paths_with_a_glob() -> None:
    event = changed("charts/web/Chart.yaml")
    assert matches(event, URL, "HEAD", "apps/api", extra_paths="/charts/*/Chart.yaml")
    assert not matches(changed("charts/web/values.yaml"), URL, "HEAD", "apps/api", extra_paths="/charts/*/Chart.yaml")


def test_parsed_push_matches_only_the_app_whose_files_changed() -> None:
    event = parsed(BY_NAME["github"])
    assert matches(event, "git@github.com:acme/gitops.git", "main", "apps/api")
    assert not matches(event, "git@github.com:acme/gitops.git", "main", "apps/web")
