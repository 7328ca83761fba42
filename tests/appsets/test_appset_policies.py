"""Generation runs against what the set owns (real Redis and git; the run a worker makes, called
directly): applicationsSync policies, the error-holds-everything rule, the deletion cap,
conditions and status.resources, owner links, and deleting a set (preserveResourcesOnDeletion)."""

from __future__ import annotations

from typing import Any

from reconciler.control import user_actions
from reconciler.control.appsets.reconcile import delete_appset, run_generation
from reconciler.model import parse_manifests
from reconciler.services import Services
from tests.appsets.conftest import app_template, appset


def list_set(envs: list[str], **spec: Any) -> dict[str, Any]:
    template = app_template("web-{{env}}", "web", "web-{{env}}")
    template["metadata"]["labels"] = {"tier": spec.pop("tier", "one")}
    set_ = appset("web", [{"list": {"elements": [{"env": e} for e in envs]}}], template, **spec)
    set_["metadata"]["annotations"] = spec.pop("annotations", {}) if "annotations" in spec else {}
    return set_


def create(services: Services, manifest: dict[str, Any]) -> None:
    import yaml

    user_actions.create(services.store, parse_manifests(yaml.safe_dump(manifest)), owner="api")


def conditions(services: Services, name: str = "web") -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (services.store.appset_status(name) or {}).get("conditions", [])}


def labels_of(services: Services, app: str) -> dict[str, str]:
    return ((services.store.app_manifest(app) or {}).get("metadata") or {}).get("labels") or {}


def test_a_run_creates_the_apps_with_the_owner_link_and_argo_cds_conditions(services: Services) -> None:
    create(services, list_set(["dev", "prod"]))
    run_generation(services, "web")
    assert services.store.apps_owned_by("web") == ["web-dev", "web-prod"]
    manifest = services.store.app_manifest("web-dev")
    assert manifest["metadata"]["ownerReferences"][0] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "name": "web",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    found = conditions(services)
    assert {k: v["status"] for k, v in found.items()} == {
        "ErrorOccurred": "False",
        "ParametersGenerated": "True",
        "ResourcesUpToDate": "True",
    }
    resources = services.store.appset_status("web")["resources"]
    assert [(r["kind"], r["name"]) for r in resources] == [("Application", "web-dev"), ("Application", "web-prod")]


def test_sync_policy_create_only_neither_updates_nor_deletes(services: Services) -> None:
    create(services, list_set(["dev", "prod"], syncPolicy={"applicationsSync": "create-only"}))
    run_generation(services, "web")
    create(services, list_set(["dev", "qa"], tier="two", syncPolicy={"applicationsSync": "create-only"}))
    run_generation(services, "web")
    assert services.store.apps_owned_by("web") == ["web-dev", "web-prod", "web-qa"]
    assert labels_of(services, "web-dev") == {"tier": "one"}


def test_sync_policy_create_update_updates_but_never_deletes(services: Services) -> None:
    create(services, list_set(["dev", "prod"], syncPolicy={"applicationsSync": "create-update"}))
    run_generation(services, "web")
    create(services, list_set(["dev"], tier="two", syncPolicy={"applicationsSync": "create-update"}))
    run_generation(services, "web")
    assert services.store.apps_owned_by("web") == ["web-dev", "web-prod"]
    assert labels_of(services, "web-dev") == {"tier": "two"}


def test_sync_policy_create_delete_deletes_but_never_updates(services: Services) -> None:
    create(services, list_set(["dev", "prod", "qa"], syncPolicy={"applicationsSync": "create-delete"}))
    run_generation(services, "web")
    create(services, list_set(["dev", "prod"], tier="two", syncPolicy={"applicationsSync": "create-delete"}))
    result = run_generation(services, "web")
    assert services.store.apps_owned_by("web") == ["web-dev", "web-prod"]
    # web-qa carries the resources finalizer: its delete is an operation the worker queues
    assert result is not None and [request.app for request in result.deletes] == ["web-qa"]
    assert services.store.delete_request("web-qa") is not None
    assert labels_of(services, "web-dev") == {"tier": "one"}


def test_a_generator_error_changes_nothing_and_names_the_generator(services: Services, git_repo_factory: Any) -> None:
    repo = git_repo_factory({"apps/a/cm.yaml": "x: 1\n", "apps/b/cm.yaml": "x: 1\n"})
    spec = appset(
        "git",
        [{"git": {"repoURL": repo.url, "revision": "main", "directories": [{"path": "apps/*"}]}}],
        app_template("{{path.basename}}", "{{path}}", "{{path.basename}}", repo=repo.url),
    )
    create(services, spec)
    run_generation(services, "git")
    assert services.store.apps_owned_by("git") == ["a", "b"]
    spec["spec"]["generators"][0]["git"]["revision"] = "no-such-branch"
    create(services, spec)
    run_generation(services, "git")
    assert services.store.apps_owned_by("git") == ["a", "b"]
    error = conditions(services, "git")["ErrorOccurred"]
    assert error["status"] == "True" and error["reason"] == "ApplicationGenerationFromParamsError"
    assert "spec.generators[0].git" in error["message"] and "no-such-branch" in error["message"]
    assert conditions(services, "git")["ResourcesUpToDate"]["status"] == "False"


def test_a_template_error_changes_nothing(services: Services) -> None:
    create(services, list_set(["dev", "prod"], goTemplate=True))
    services.store.put_appset("web", {**list_set(["dev"], goTemplate=True)})
    run_generation(services, "web")  # `{{env}}` is not Go template syntax: a parse error, nothing generated
    assert services.store.apps_owned_by("web") == []
    assert conditions(services)["ErrorOccurred"]["reason"] == "RenderTemplateParamsError"


def test_a_run_deleting_more_than_half_of_the_apps_holds_until_the_share_is_raised(services: Services) -> None:
    create(services, list_set(["a", "b", "c", "d"]))
    run_generation(services, "web")
    create(services, list_set(["a"]))
    run_generation(services, "web")
    assert services.store.apps_owned_by("web") == ["web-a", "web-b", "web-c", "web-d"]
    error = conditions(services)["ErrorOccurred"]
    assert error["reason"] == "DeletionCapExceeded" and "3 of the 4" in error["message"]
    raised = list_set(["a"])
    raised["metadata"]["annotations"] = {"reconciler.io/appset-max-delete-percent": "100"}
    create(services, raised)
    run_generation(services, "web")
    assert services.store.apps_owned_by("web") == ["web-a"]
    assert conditions(services)["ErrorOccurred"]["status"] == "False"


def test_deleting_half_of_the_apps_is_within_the_default_share(services: Services) -> None:
    create(services, list_set(["a", "b"]))
    run_generation(services, "web")
    create(services, list_set(["a"]))
    run_generation(services, "web")
    assert services.store.apps_owned_by("web") == ["web-a"]


def test_an_app_of_the_same_name_not_owned_by_the_set_is_refused_and_left_alone(services: Services) -> None:
    create(
        services,
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web-dev"},
            "spec": app_template("web-dev", "other", "x")["spec"],
        },
    )
    create(services, list_set(["dev", "prod"]))
    run_generation(services, "web")
    assert services.store.apps_owned_by("web") == ["web-prod"]
    assert services.store.app_manifest("web-dev")["spec"]["source"]["path"] == "other"
    error = conditions(services)["ErrorOccurred"]
    assert error["reason"] == "ApplicationValidationError" and "web-dev" in error["message"]


def test_deleting_a_set_that_preserves_resources_deregisters_its_apps_without_cascade(services: Services) -> None:
    create(services, list_set(["dev"], syncPolicy={"preserveResourcesOnDeletion": True}))
    run_generation(services, "web")
    assert "finalizers" not in services.store.app_manifest("web-dev")["metadata"]
    result, deletes = delete_appset(services, "web")
    assert result == {
        "deleted": "web", "applications": ["web-dev"], "deleting": [], "preserveResourcesOnDeletion": True
    }
    assert deletes == []
    assert services.store.app_manifest("web-dev") is None and services.store.appset_manifest("web") is None


def test_one_worker_generates_a_set_at_a_time_and_a_run_asked_meanwhile_is_not_lost(services: Services) -> None:
    create(services, list_set(["dev"]))
    assert services.store.acquire_appset_lock("web", "another-worker", 60)
    held = run_generation(services, "web")
    assert held is not None and "another worker" in held.held
    assert services.store.apps_owned_by("web") == []
    assert services.store.take_again("web")  # the holder runs the set again when it ends
    services.store.release_appset_lock("web", "another-worker")
    run_generation(services, "web")
    assert services.store.apps_owned_by("web") == ["web-dev"]
