"""ApplicationSets and clusters over real HTTP and through the `reconciler` command: REST routes
with their token rules, the dry-run generate (the CLI's `appset generate -o json` answer), the
dashboard page, and cluster rows that never show credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.appsets.conftest import app_template, appset
from tests.dashboard.conftest import ADMIN_TOKEN, READONLY_TOKEN, Dashboard, dashboard  # noqa: F401

SET = appset(
    "guestbook",
    [{"list": {"elements": [{"cluster": "dev"}, {"cluster": "prod"}]}}],
    app_template("{{cluster}}-guestbook", "guestbook/{{cluster}}", "guestbook"),
)
CLUSTER = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: prod\n  namespace: argocd\n  labels:\n"
    "    argocd.argoproj.io/secret-type: cluster\n    env: prod\nstringData:\n  name: prod\n"
    '  server: https://prod.example.com\n  config: \'{"bearerToken": "tok-s3cr3t"}\'\n'
)


def client(board: Dashboard, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=board.url, headers=headers, trust_env=False, timeout=30)


def test_rest_routes_register_list_and_generate_with_the_token_rules(
    system: Any, dashboard: Dashboard  # noqa: F811 (a worker generates the dry run)
) -> None:
    body = yaml.safe_dump(SET).encode()
    with client(dashboard, READONLY_TOKEN) as reader, client(dashboard, ADMIN_TOKEN) as admin:
        assert (
            reader.post(
                "/api/v1/applicationsets", content=body, headers={"Content-Type": "application/yaml"}
            ).status_code
            == 403
        )
        created = admin.post("/api/v1/applicationsets", content=body, headers={"Content-Type": "application/yaml"})
        assert created.status_code == 201 and created.json()["applicationSets"] == ["guestbook"]
        assert [row["name"] for row in reader.get("/api/v1/applicationsets").json()] == ["guestbook"]
        assert reader.get("/api/v1/applicationsets/guestbook").json()["manifest"]["metadata"]["name"] == "guestbook"
        assert reader.get("/api/v1/applicationsets/nope").status_code == 404
        generated = admin.post("/api/v1/applicationsets/generate", json=SET)
        assert generated.status_code == 200
        assert [a["metadata"]["name"] for a in generated.json()] == ["dev-guestbook", "prod-guestbook"]
        assert all(a["kind"] == "Application" for a in generated.json())


def test_the_generate_route_answers_422_naming_a_failing_generator(
    system: Any, dashboard: Dashboard  # noqa: F811 (a worker generates the dry run)
) -> None:
    broken = appset(
        "b",
        [{"git": {"repoURL": "file:///no/such/repo", "directories": [{"path": "*"}]}}],
        app_template("{{path}}", "p", "n"),
    )
    with client(dashboard, ADMIN_TOKEN) as admin:
        answer = admin.post("/api/v1/applicationsets/generate", json=broken)
    assert answer.status_code == 422 and "spec.generators[0].git" in answer.json()["error"]


def test_clusters_are_listed_with_in_cluster_and_never_their_credentials(dashboard: Dashboard) -> None:  # noqa: F811
    with client(dashboard, ADMIN_TOKEN) as admin:
        assert (
            admin.post(
                "/api/v1/clusters", content=CLUSTER.encode(), headers={"Content-Type": "application/yaml"}
            ).status_code
            == 201
        )
        answer = admin.get("/api/v1/clusters")
    assert [(r["name"], r["server"]) for r in answer.json()] == [
        ("in-cluster", "https://kubernetes.default.svc"),
        ("prod", "https://prod.example.com"),
    ]
    assert "tok-s3cr3t" not in answer.text
    assert "tok-s3cr3t" not in json.dumps(dashboard.services.store.r.hgetall("rc:clusters"))


def test_the_dashboard_lists_sets_with_their_apps_behind_the_token(dashboard: Dashboard) -> None:  # noqa: F811
    from reconciler.control.appsets.reconcile import run_generation

    with client(dashboard, ADMIN_TOKEN) as admin:
        admin.post(
            "/api/v1/applicationsets",
            content=yaml.safe_dump(SET).encode(),
            headers={"Content-Type": "application/yaml"},
        )
    run_generation(dashboard.services, "guestbook")
    with client(dashboard, None) as anonymous, client(dashboard, READONLY_TOKEN) as reader:
        page = anonymous.get("/applicationsets")
        assert page.status_code == 200 and "/ui/static/appsets.js" in page.text
        assert anonymous.get("/ui/api/appsets").status_code == 401
        [row] = reader.get("/ui/api/appsets").json()
    assert [r["name"] for r in row["resources"]] == ["dev-guestbook", "prod-guestbook"]


def test_cli_appset_generate_prints_application_objects_as_json(
    system: Any, dashboard: Dashboard, tmp_path: Path  # noqa: F811 (a worker generates the dry run)
) -> None:
    file = tmp_path / "appset.yaml"
    file.write_text(yaml.safe_dump(SET))
    env = {**os.environ, "RECONCILER_SERVER": dashboard.url, "RECONCILER_API_TOKEN": ADMIN_TOKEN}
    done = subprocess.run(
        [sys.executable, "-m", "reconciler.cli", "appset", "generate", "-f", str(file), "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    apps = json.loads(done.stdout)
    assert [a["metadata"]["name"] for a in apps] == ["dev-guestbook", "prod-guestbook"]
    assert apps[0]["spec"]["source"]["path"] == "guestbook/dev"
