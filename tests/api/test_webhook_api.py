"""POST /api/webhook over real HTTP: signed payloads as the providers document them, matched
to registered applications, queued as fresh polls; every refusal queues nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.api.webhook import parse
from reconciler.control.catalog import register
from reconciler.model import load_file, parse_manifests
from reconciler.state import Keys, Store
from tests.api.conftest import BY_NAME, PROVIDERS, SECRET, WEBHOOKS, Api, Provider, hex_hmac, urgent_queue_length
from tests.conftest import GitRepo
from tests.integration.conftest import System

provider_cases = pytest.mark.parametrize("provider", PROVIDERS, ids=[p.name for p in PROVIDERS])


def app_manifest(name: str, repo_url: str, revision: str, path: str = ".") -> str:
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  project: default
  source: {{repoURL: "{repo_url}", targetRevision: {revision}, path: "{path}"}}
  destination: {{server: https://kubernetes.default.svc, namespace: default}}
"""


def register_for(store: Store, provider: Provider, name: str = "pushed") -> None:
    """An app on the repository and branch the provider's sample push names, and one elsewhere."""
    body = provider.body()
    event = parse(provider.name, provider.headers(body), body)
    branch = event.ref.removeprefix("refs/heads/")
    text = app_manifest(name, event.repo_urls[0], branch) + "---" + app_manifest(
        "elsewhere", "https://git.example.org/other/repo.git", "main"
    )
    register(store, parse_manifests(text), first_poll_in=3600)


def webhook_polls(redis_client: Any) -> list[str]:
    return sorted(redis_client.scan_iter(Keys.webhook_poll("*")))


@pytest.fixture
def store(redis_client: Any) -> Store:
    return Store(redis_client)


@provider_cases
def test_signed_push_queues_a_fresh_poll_of_the_matching_app_only(
    provider: Provider, serve_api: Callable[..., Api], store: Store, redis_client: Any
) -> None:
    register_for(store, provider)
    api = serve_api()
    body = provider.body()
    with api.client(token=None) as http:
        response = http.post("/api/webhook", content=body, headers=provider.headers(body))
    assert response.status_code == 202, response.text
    assert response.json() == {"queued": ["pushed"], "ignored": 1}
    assert urgent_queue_length(redis_client) == 1
    assert webhook_polls(redis_client) == [Keys.webhook_poll("pushed")]


def test_a_burst_of_pushes_for_one_app_queues_one_poll(
    serve_api: Callable[..., Api], store: Store, redis_client: Any
) -> None:
    provider = BY_NAME["github"]
    register_for(store, provider)
    api = serve_api()
    body = provider.body()
    with api.client(token=None) as http:
        answers = [http.post("/api/webhook", content=body, headers=provider.headers(body)) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert all(a.json()["queued"] == ["pushed"] for a in answers)
    assert urgent_queue_length(redis_client) == 1


def test_a_push_after_the_queued_poll_ran_queues_another(
    serve_api: Callable[..., Api], store: Store, redis_client: Any
) -> None:
    provider = BY_NAME["github"]
    register_for(store, provider)
    body = provider.body()
    with serve_api().client(token=None) as http:
        http.post("/api/webhook", content=body, headers=provider.headers(body))
        store.write_status("pushed", {"name": "pushed", "observedAt": time.time() + 1})  # what the poll leaves
        http.post("/api/webhook", content=body, headers=provider.headers(body))
    assert urgent_queue_length(redis_client) == 2


def test_push_to_another_branch_is_answered_but_queues_nothing(
    serve_api: Callable[..., Api], store: Store, redis_client: Any
) -> None:
    provider = BY_NAME["github"]
    register_for(store, provider)
    body = provider.body().replace(b'"ref": "refs/heads/main"', b'"ref": "refs/heads/feature"')
    with serve_api().client(token=None) as http:
        response = http.post("/api/webhook", content=body, headers=provider.headers(body))
    assert response.status_code == 202
    assert response.json() == {"queued": [], "ignored": 2}
    assert urgent_queue_length(redis_client) == 0


def test_github_ping_is_answered_200_without_work(
    serve_api: Callable[..., Api], store: Store, redis_client: Any
) -> None:
    register_for(store, BY_NAME["github"])
    body = (WEBHOOKS / "github_ping.json").read_bytes()
    headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + hex_hmac(SECRET, body)}
    with serve_api().client(token=None) as http:
        response = http.post("/api/webhook", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["ping"] is True
    assert urgent_queue_length(redis_client) == 0


def _refusals() -> list[tuple[str, Callable[[bytes], tuple[bytes, dict[str, str]]], int, str]]:
    github = BY_NAME["github"]

    def wrong_signature(body: bytes) -> tuple[bytes, dict[str, str]]:
        return body, github.headers(body, secret="not-the-secret")

    def no_signature(body: bytes) -> tuple[bytes, dict[str, str]]:
        return body, {"X-GitHub-Event": "push"}

    def tampered_body(body: bytes) -> tuple[bytes, dict[str, str]]:
        return body.replace(b"main", b"prod"), github.headers(body)

    def gitlab_wrong_token(_: bytes) -> tuple[bytes, dict[str, str]]:
        body = BY_NAME["gitlab"].body()
        return body, BY_NAME["gitlab"].headers(body, secret="wrong-token")

    def malformed_json(_: bytes) -> tuple[bytes, dict[str, str]]:
        body = b'{"ref": "refs/heads/main", "repository": '
        return body, github.headers(body)

    def unknown_event(body: bytes) -> tuple[bytes, dict[str, str]]:
        return body, {**github.headers(body), "X-GitHub-Event": "issues"}

    def unknown_sender(body: bytes) -> tuple[bytes, dict[str, str]]:
        return body, {"Content-Type": "application/json"}

    def oversized(_: bytes) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"ref": "refs/heads/main", "padding": "x" * 5000}).encode()
        return body, github.headers(body)

    return [
        ("wrong-signature", wrong_signature, 401, "X-Hub-Signature-256 does not match"),
        ("missing-signature", no_signature, 401, "carries no X-Hub-Signature-256"),
        ("tampered-body", tampered_body, 401, "does not match"),
        ("gitlab-wrong-token", gitlab_wrong_token, 401, "X-Gitlab-Token"),
        ("malformed-json", malformed_json, 400, "not valid JSON"),
        ("unknown-event", unknown_event, 422, '"issues" is not handled'),
        ("unknown-sender", unknown_sender, 400, "cannot tell which Git provider"),
        ("oversized", oversized, 413, "4096-byte limit"),
    ]


@pytest.mark.parametrize(("case", "make", "status", "message"), _refusals(), ids=[r[0] for r in _refusals()])
def test_refused_delivery_gets_its_status_and_queues_nothing(
    case: str,
    make: Callable[[bytes], tuple[bytes, dict[str, str]]],
    status: int,
    message: str,
    serve_api: Callable[..., Api],
    store: Store,
    redis_client: Any,
) -> None:
    register_for(store, BY_NAME["github"])
    api = serve_api(webhook_max_bytes=4096)
    body, headers = make(BY_NAME["github"].body())
    with api.client(token=None) as http:
        response = http.post("/api/webhook", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert SECRET not in response.text
    assert urgent_queue_length(redis_client) == 0
    assert webhook_polls(redis_client) == []


def test_provider_without_a_secret_is_refused_403_naming_the_variable(
    serve_api: Callable[..., Api], store: Store, redis_client: Any
) -> None:
    provider = BY_NAME["gitea"]
    register_for(store, provider)
    api = serve_api(webhook_secrets={"github": SECRET})
    body = provider.body()
    with api.client(token=None) as http:
        response = http.post("/api/webhook", content=body, headers=provider.headers(body))
    assert response.status_code == 403
    assert "RECONCILER_WEBHOOK_GITEA_SECRET" in response.json()["error"]
    assert urgent_queue_length(redis_client) == 0


def test_unsigned_hook_is_accepted_only_when_explicitly_allowed(
    serve_api: Callable[..., Api], store: Store, redis_client: Any
) -> None:
    provider = BY_NAME["generic"]
    register_for(store, provider)
    body = provider.body()
    headers = {"X-Reconciler-Event": "push", "Content-Type": "application/json"}
    with serve_api(webhook_secrets={}).client(token=None) as http:
        refused = http.post("/api/webhook", content=body, headers=headers)
    with serve_api(webhook_secrets={}, webhook_allow_unsigned=True).client(token=None) as http:
        accepted = http.post("/api/webhook", content=body, headers=headers)
    assert refused.status_code == 403
    assert accepted.status_code == 202
    assert accepted.json()["queued"] == ["pushed"]


def test_too_many_requests_from_one_address_get_429_with_retry_after(
    serve_api: Callable[..., Api], store: Store, redis_client: Any
) -> None:
    provider = BY_NAME["github"]
    register_for(store, provider)
    body = provider.body()
    with serve_api(webhook_rate_limit=2).client(token=None) as http:
        answers = [http.post("/api/webhook", content=body, headers=provider.headers(body)) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    assert "RECONCILER_WEBHOOK_RATE_LIMIT" in answers[2].json()["error"]


# --- end to end: a push reaches the cluster -------------------------------------------


def deployment_image(system: System, name: str, namespace: str = "production") -> str | None:
    live = system.cluster.get("apps/v1", "Deployment", namespace, name)
    return None if live is None else str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def github_push(repo: GitRepo, before: str, after: str, files: list[str]) -> bytes:
    """GitHub's documented push payload (the fixture), for this repository and commit."""
    data = json.loads(BY_NAME["github"].body())
    data.update(before=before, after=after, ref="refs/heads/main")
    data["repository"].update(html_url=repo.url, clone_url=repo.url, default_branch="main")
    data["repository"].pop("ssh_url")
    data["repository"].pop("git_url")
    commit = {**data["commits"][0], "id": after, "added": [], "removed": [], "modified": files}
    data["commits"] = [commit]
    data["head_commit"] = commit
    return json.dumps(data).encode()


@pytest.mark.timeout(120)
def test_signed_github_push_gets_the_new_image_applied(
    system: System, seed_repo: GitRepo, serve_api: Callable[..., Api]
) -> None:
    register(system.store, load_file(seed_repo.path / "argocd" / "apps" / "api.yaml"), first_poll_in=0)
    first = seed_repo.head()
    system.wait_for(lambda: [h["revision"] for h in system.store.history("api")] == [first], what="first sync")
    api = serve_api()
    values = (seed_repo.path / "apps/api/values-prod.yaml").read_text().replace("abc123def", "fff999")
    head = seed_repo.commit({"apps/api/values-prod.yaml": values}, message="chore: deploy api@fff999")
    body = github_push(seed_repo, first, head, ["apps/api/values-prod.yaml"])
    with api.client(token=None) as http:
        response = http.post("/api/webhook", content=body, headers=BY_NAME["github"].headers(body))
    assert response.status_code == 202, response.text
    assert response.json() == {"queued": ["api"], "ignored": 0}
    system.wait_for(lambda: deployment_image(system, "api") == "registry.example.com/api:fff999", what="new image")
    system.wait_for(lambda: [h["revision"] for h in system.store.history("api")][-1] == head, what="history")
