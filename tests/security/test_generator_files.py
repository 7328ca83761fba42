"""Issue 22, the ApplicationSet side of a Git writer of one repository: the files a Git files
generator reads are theirs. A few lines of nested YAML anchors expanded to a billion parameters
in whichever process generated the set: the API's dry run (`POST /api/v1/applicationsets/generate`)
never answered, and the ApplicationSet worker did the same on every requeue. Through one
`reconciler up` (real API, workers, Redis)."""

from __future__ import annotations

import json

import pytest

from tests.security.conftest import Up, answers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

# 10^9 strings from nine lines.
BILLION_LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 10) if prev else ', '.join(['x'] * 10)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)


def files_appset(repo_url: str) -> dict[str, object]:
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
        "metadata": {"name": "fleet", "namespace": "argocd"},
        "spec": {
            "generators": [{"git": {"repoURL": repo_url, "revision": "main",
                                    "files": [{"path": "clusters/*.yaml"}]}}],
            "template": {
                "metadata": {"name": "{{name}}"},
                "spec": {"project": "default",
                         "source": {"repoURL": repo_url, "targetRevision": "main", "path": "app"},
                         "destination": {"server": "https://kubernetes.default.svc", "namespace": "{{name}}"}},
            },
        },
    }


def test_a_yaml_bomb_in_a_generators_file_is_refused_naming_the_file_and_the_api_answers(up: Up) -> None:
    repo = up.repo("fleet-config", {"clusters/dev.yaml": "name: dev\n", "clusters/zz-bomb.yaml": BILLION_LAUGHS})
    with up.http() as http:
        answer = http.post("/api/v1/applicationsets/generate", content=json.dumps(files_appset(repo.url)),
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert "unable to process file 'clusters/zz-bomb.yaml'" in error and "100000 YAML nodes" in error
    assert answers(f"{up.url}/readyz")
    # Without the bomb the same set generates its app.
    repo.remove("clusters/zz-bomb.yaml")
    repo.commit(message="drop the bomb")
    with up.http() as http:
        fine = http.post("/api/v1/applicationsets/generate", content=json.dumps(files_appset(repo.url)),
                         headers={"Content-Type": "application/json"})
    assert fine.status_code == 200, fine.text
    assert [app["metadata"]["name"] for app in fine.json()] == ["dev"]
