"""The REST API over real HTTP: authentication and roles, create/list/get/diff/sync/rollback/
delete with the bodies `reconciler app ... -o json` prints, probes and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reconciler.services import Services
from tests.api.conftest import ADMIN_TOKEN, READONLY_TOKEN, Api, urgent_queue_length
from tests.conftest import GitRepo
from tests.integration.conftest import System

APPS = "/api/v1/applications"


def manifest(name: str, repo: str = "https://git.example.com/org/config.git", project: str = "default",
             automated: bool = False) -> str:
    policy = "  syncPolicy: {automated: {prune: true}}\n" if automated else ""
    return f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  project: {project}
  source: {{repoURL: "{repo}", targetRevision: main, path: apps/{name}}}
  destination: {{server: https://kubernetes.default.svc, namespace: {name}}}
{policy}"""


PROJECT = """apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: team-a, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
"""


# --- authentication -------------------------------------------------------------------


def test_rest_call_without_a_token_is_401_saying_how_to_send_one(serve_api: Callable[..., Api]) -> None:
    with serve_api().client(token=None) as http:
        response = http.get(APPS)
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_401_and_not_echoed(serve_api: Callable[..., Api]) -> None:
    with serve_api().client(token="guessed-token-123") as http:
        response = http.get(APPS)
    assert response.status_code == 401
    assert "guessed-token-123" not in response.text


def test_readonly_token_reads_but_gets_403_on_every_change(serve_api: Callable[..., Api], redis_client: Any) -> None:
    api = serve_api()
    with api.client(ADMIN_TOKEN) as admin:
        assert admin.post(APPS, content=manifest("shop")).status_code == 201
    with api.client(READONLY_TOKEN) as reader:
        assert reader.get(APPS).status_code == 200
        assert reader.get(f"{APPS}/shop").status_code == 200
        changes = [
            reader.post(APPS, content=manifest("other")),
            reader.post(f"{APPS}/shop/sync", json={}),
            reader.post(f"{APPS}/shop/rollback", json={"id": 1}),
            reader.delete(f"{APPS}/shop"),
        ]
    assert [r.status_code for r in changes] == [403, 403, 403, 403]
    assert "needs an admin token" in changes[0].json()["error"]
    assert urgent_queue_length(redis_client) == 0
    assert redis_client.hkeys("rc:apps") == ["shop"]


def test_without_configured_tokens_rest_is_closed_unless_auth_none_is_set(serve_api: Callable[..., Api]) -> None:
    with serve_api(api_tokens=()).client(token=None) as http:
        closed = http.get(APPS)
    with serve_api(api_tokens=(), api_auth="none").client(token=None) as http:
        opened = http.get(APPS)
    assert closed.status_code == 401
    assert "RECONCILER_API_TOKENS" in closed.json()["error"]
    assert "RECONCILER_API_AUTH=none" in closed.json()["error"]
    assert opened.status_code == 200


def test_probes_are_open_and_metrics_need_a_token_only_when_configured(serve_api: Callable[..., Api]) -> None:
    with serve_api().client(token=None) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
        metrics = http.get("/metrics")
    with serve_api(metrics_auth=True).client(token=None) as http:
        protected = http.get("/metrics")
        assert http.get("/metrics", headers={"Authorization": f"Bearer {READONLY_TOKEN}"}).status_code == 200
    assert ready.status_code == 200, ready.text
    assert ready.json()["redis"] == "ok" and ready.json()["broker"] == "ok"
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert protected.status_code == 401


def test_readyz_is_503_naming_redis_when_it_is_down(serve_api: Callable[..., Api], celery_app: Any) -> None:
    import uvicorn  # noqa: F401 (served the same way as the other tests)

    from reconciler.state.redis_server import free_port

    api = serve_api()
    dead = Services.create(api.settings, f"redis://127.0.0.1:{free_port()}/0")
    from reconciler.api.server import create_app
    from tests.api.conftest import serve_app

    with serve_app(create_app(api.settings, dead)) as url, Api(url, api.settings, dead).client(None) as http:
        response = http.get("/readyz")
    dead.close()
    assert response.status_code == 503
    assert "Redis" in response.json()["error"]
    assert "check REDIS_URL" in response.json()["error"]


def test_openapi_document_describes_the_rest_routes(serve_api: Callable[..., Api]) -> None:
    with serve_api().client(token=None) as http:
        document = http.get("/openapi.json").json()
    paths = document["paths"]
    for path in (APPS, f"{APPS}/{{name}}", f"{APPS}/{{name}}/diff", f"{APPS}/{{name}}/sync",
                 f"{APPS}/{{name}}/rollback", "/api/webhook", "/healthz", "/readyz", "/metrics"):
        assert path in paths
    assert paths[APPS]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"].endswith(
        "AppSummary"
    )
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    invalid = paths[f"{APPS}/{{name}}/rollback"]["post"]["responses"]
    assert "422" not in invalid and invalid["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ErrorBody"
    )


# --- create, list, get ----------------------------------------------------------------


def test_create_registers_multi_document_yaml_201_then_200_when_nothing_is_new(
    serve_api: Callable[..., Api],
) -> None:
    text = PROJECT + "---\n" + manifest("shop", project="team-a") + "---\n" + manifest("cart")
    with serve_api().client() as http:
        first = http.post(APPS, content=text, headers={"Content-Type": "application/yaml"})
        again = http.post(APPS, content=text, headers={"Content-Type": "application/yaml"})
    assert first.status_code == 201
    assert first.json() == {"applications": ["shop", "cart"], "projects": ["team-a"], "created": ["shop", "cart"]}
    assert again.status_code == 200
    assert again.json()["created"] == []


def test_create_accepts_a_json_list_of_manifests(serve_api: Callable[..., Api]) -> None:
    import yaml

    documents = [yaml.safe_load(manifest("shop")), yaml.safe_load(manifest("cart"))]
    with serve_api().client() as http:
        response = http.post(APPS, json=documents)
    assert response.status_code == 201
    assert response.json()["applications"] == ["shop", "cart"]


def test_create_with_invalid_manifests_lists_every_problem_and_registers_nothing(
    serve_api: Callable[..., Api], redis_client: Any
) -> None:
    bad = manifest("shop").replace('repoURL: "https://git.example.com/org/config.git", ', "") + "---\n" + (
        manifest("Not_A_Name")
    )
    with serve_api().client() as http:
        response = http.post(APPS, content=bad)
    body = response.json()
    assert response.status_code == 400
    assert "2 problem(s)" in body["error"] or len(body["problems"]) >= 2
    assert any("repoURL" in p for p in body["problems"])
    assert any("Not_A_Name" in p or "metadata.name" in p for p in body["problems"])
    assert all(p.startswith("request body") for p in body["problems"])
    assert redis_client.hkeys("rc:apps") == []


def test_list_filters_by_project_repo_health_and_name(serve_api: Callable[..., Api]) -> None:
    text = "---\n".join(
        [PROJECT, manifest("shop-web", project="team-a"), manifest("shop-api", repo="git@git.example.com:org/other"),
         manifest("billing")]
    )
    with serve_api().client() as http:
        http.post(APPS, content=text)
        everything = http.get(APPS).json()
        by_project = http.get(APPS, params={"project": "team-a"}).json()
        by_repo = http.get(APPS, params={"repo": "https://GIT.example.com/org/other.git"}).json()
        by_name = http.get(APPS, params={"search": "SHOP"}).json()
        by_health = http.get(APPS, params={"health": "healthy"}).json()
    assert [a["name"] for a in everything] == ["billing", "shop-api", "shop-web"]
    assert {"sync", "health", "revision", "repoURL", "lastSync"} <= set(everything[0])
    assert [a["name"] for a in by_project] == ["shop-web"]
    assert [a["name"] for a in by_repo] == ["shop-api"]
    assert [a["name"] for a in by_name] == ["shop-api", "shop-web"]
    assert by_health == []  # never polled: health Unknown


def test_unknown_application_is_404_naming_it_on_every_route(serve_api: Callable[..., Api]) -> None:
    with serve_api().client() as http:
        answers = [
            http.get(f"{APPS}/ghost"),
            http.get(f"{APPS}/ghost/diff"),
            http.post(f"{APPS}/ghost/sync", json={}),
            http.post(f"{APPS}/ghost/sync", json={"dryRun": True}),
            http.post(f"{APPS}/ghost/rollback", json={"id": 1}),
            http.delete(f"{APPS}/ghost"),
        ]
    assert [a.status_code for a in answers] == [404] * 6
    assert all("'ghost'" in a.json()["error"] for a in answers)


def test_rollback_is_refused_409_while_auto_sync_is_on(serve_api: Callable[..., Api], redis_client: Any) -> None:
    with serve_api().client() as http:
        http.post(APPS, content=manifest("shop", automated=True))
        response = http.post(f"{APPS}/shop/rollback", json={"id": 1})
    assert response.status_code == 409
    assert "rollback cannot be initiated when auto-sync is enabled" in response.json()["error"]
    assert urgent_queue_length(redis_client) == 0


def test_sync_without_a_body_queues_a_user_sync_on_the_urgent_queue(
    serve_api: Callable[..., Api], redis_client: Any
) -> None:
    with serve_api().client() as http:
        http.post(APPS, content=manifest("shop"))
        response = http.post(f"{APPS}/shop/sync")
    assert response.status_code == 202
    assert response.json()["request"]["trigger"] == "user"
    assert response.json()["request"]["prune"] is False
    assert urgent_queue_length(redis_client) == 1


def test_malformed_sync_requests_are_400_naming_the_field(serve_api: Callable[..., Api]) -> None:
    with serve_api().client() as http:
        http.post(APPS, content=manifest("shop"))
        bad_resource = http.post(f"{APPS}/shop/sync", json={"resources": ["Deployment/api"]})
        bad_field = http.post(f"{APPS}/shop/sync", json={"prune": "sometimes"})
        no_id = http.post(f"{APPS}/shop/rollback", json={})
    assert bad_resource.status_code == 400
    assert "group/kind/namespace/name" in bad_resource.json()["error"]
    assert bad_field.status_code == 400 and any("prune" in p for p in bad_field.json()["problems"])
    assert no_id.status_code == 400 and any(p.startswith("id") for p in no_id.json()["problems"])


# --- the whole system: sync, diff, dry run, rollback, delete ---------------------------


def deployment_image(system: System, name: str, namespace: str = "production") -> str | None:
    live = system.cluster.get("apps/v1", "Deployment", namespace, name)
    return None if live is None else str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def manual_worker_app(repo: GitRepo) -> str:
    text = (repo.path / "argocd/apps/worker.yaml").read_text()
    return text.replace("    automated:\n      prune: true\n      selfHeal: true\n", "")


@pytest.mark.timeout(120)
def test_sync_diff_dry_run_rollback_and_delete_over_http(
    system: System, seed_repo: GitRepo, serve_api: Callable[..., Api]
) -> None:
    api = serve_api()
    first = seed_repo.head()
    with api.client() as http:
        assert http.post(APPS, content=manual_worker_app(seed_repo)).status_code == 201
        system.wait_for(lambda: system.status("worker").get("sync", {}).get("status") == "OutOfSync", what="poll")
        diff = http.get(f"{APPS}/worker/diff").json()
        assert {r["kind"]: r["status"] for r in diff["resources"]} == {"ConfigMap": "Missing", "Deployment": "Missing"}

        plan = http.post(f"{APPS}/worker/sync", json={"dryRun": True})
        assert plan.status_code == 200, plan.text
        assert plan.json()["revision"] == first
        applied = [r for wave in plan.json()["waves"] for r in wave["apply"]]
        assert applied == ["/ConfigMap/production/worker-config", "apps/Deployment/production/worker"]
        assert plan.json()["namespaceToCreate"] == "production"
        assert deployment_image(system, "worker") is None  # a dry run changes nothing

        queued = http.post(f"{APPS}/worker/sync", json={"prune": True})
        assert queued.status_code == 202
        assert queued.json()["queued"] is True and queued.json()["request"]["app"] == "worker"
        system.wait_for(lambda: deployment_image(system, "worker") == "registry.example.com/worker:1.0.0",
                        what="first sync")
        system.wait_for(lambda: len(system.store.history("worker")) == 1, what="history entry 1")

        values = (seed_repo.path / "apps/worker/values.yaml").read_text().replace('"1.0.0"', '"2.0.0"')
        head = seed_repo.commit({"apps/worker/values.yaml": values}, message="worker 2.0.0")
        fresh = http.get(f"{APPS}/worker/diff", params={"refresh": "true"}).json()
        assert fresh["sync"] == {"status": "OutOfSync", "revision": head}
        changed = [r for r in fresh["resources"] if r["status"] == "OutOfSync"]
        assert [r["kind"] for r in changed] == ["Deployment"] and "2.0.0" in changed[0]["diff"]

        assert http.post(f"{APPS}/worker/sync", json={"revision": head}).status_code == 202
        system.wait_for(lambda: deployment_image(system, "worker") == "registry.example.com/worker:2.0.0",
                        what="second sync")
        system.wait_for(lambda: len(system.store.history("worker")) == 2, what="history entry 2")

        detail = http.get(f"{APPS}/worker").json()
        assert [h["revision"] for h in detail["history"]] == [first, head]
        rollback = http.post(f"{APPS}/worker/rollback", json={"id": detail["history"][0]["id"]})
        assert rollback.status_code == 202
        assert rollback.json()["request"]["revision"] == first
        system.wait_for(lambda: deployment_image(system, "worker") == "registry.example.com/worker:1.0.0",
                        what="rolled back")

        system.wait_for(lambda: system.store.lock_holder("worker") is None, what="sync finished")
        deleted = http.delete(f"{APPS}/worker", params={"cascade": "true"})
        assert deleted.status_code == 200, deleted.text
        assert sorted(deleted.json()["resources"]) == ["ConfigMap production/worker-config",
                                                       "Deployment.apps production/worker"]
        # Both hook lists are in the body, empty: this app has no delete hooks.
        assert deleted.json()["preDeleteHooks"] == [] and deleted.json()["postDeleteHooks"] == []
        assert http.get(f"{APPS}/worker").status_code == 404
    assert system.cluster.get("apps/v1", "Deployment", "production", "worker") is None


def test_terminate_op_is_409_without_a_running_operation_and_202_with_one(
    serve_api: Callable[..., Api], redis_client: Any
) -> None:
    from reconciler.state import Store

    with serve_api().client() as http:
        http.post(APPS, content=manifest("shop"))
        idle = http.post(f"{APPS}/shop/terminate-op")
        assert idle.status_code == 409 and "no running operation" in idle.json()["error"]
        store = Store(redis_client)
        assert store.acquire_lock("shop", "op-7", 60)
        store.put_operation_state("shop", {"id": "op-7", "phase": "Running", "message": "applying"})
        running = http.post(f"{APPS}/shop/terminate-op")
    assert running.status_code == 202 and running.json()["operation"] == "op-7"
    assert store.termination_requested("op-7")


def test_confirm_prune_lets_the_apps_sync_delete_prune_confirm_objects(
    serve_api: Callable[..., Api], redis_client: Any
) -> None:
    from reconciler.state import Store

    with serve_api().client() as http:
        http.post(APPS, content=manifest("shop"))
        response = http.post(f"{APPS}/shop/confirm-prune")
        missing = http.post(f"{APPS}/nope/confirm-prune")
    assert response.status_code == 200 and "Prune=confirm" in response.json()["message"]
    assert Store(redis_client).prune_confirmed("shop")
    assert missing.status_code == 404
