"""Pull-request previews against the running system: real git repositories (the seed's
app-of-apps), kubesim, Redis and Celery workers."""

from __future__ import annotations

import pytest

from reconciler.control.previews.document import commit_state, exit_code
from reconciler.control.previews.request import PreviewRequest
from reconciler.control.previews.run import run_preview
from reconciler.services import Services
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.previews.conftest import writes

PROD_VALUES = "apps/api/values-prod.yaml"


def branch(repo: GitRepo, name: str, files: dict[str, str], message: str = "change") -> str:
    repo.git("checkout", "-q", "-b", name)
    sha = repo.commit(files, message=message)
    repo.git("checkout", "-q", "main")
    return sha


def by_name(document: dict) -> dict[str, dict]:
    return {app["name"]: app for app in document["apps"]}


@pytest.mark.timeout(180)
def test_a_values_change_shows_the_deployments_image_diff_and_writes_nothing(
    system: System, synced_seed: GitRepo, services: Services
) -> None:
    values = (synced_seed.path / PROD_VALUES).read_text()
    assert "abc123def" in values
    head = branch(synced_seed, "bump", {PROD_VALUES: values.replace("abc123def", "fed321cba")})
    system.kubesim.api.clear_log()
    document = run_preview(services, PreviewRequest(synced_seed.url, "main", "bump"))
    apps = by_name(document)
    assert document["head"] == head
    assert apps["api"]["status"] == "changed"
    assert {apps[n]["status"] for n in ("root", "worker", "infrastructure")} == {"unchanged"}
    [deployment] = [o for o in apps["api"]["objects"] if o["kind"] == "Deployment"]
    assert (deployment["group"], deployment["namespace"], deployment["name"], deployment["change"]) == (
        "apps", "production", "api", "changed")
    assert "-        image: registry.example.com/api:abc123def" in deployment["diff"]
    assert "+        image: registry.example.com/api:fed321cba" in deployment["diff"]
    assert exit_code(document) == 1 and commit_state(document) == "success"
    assert writes(system) == []
