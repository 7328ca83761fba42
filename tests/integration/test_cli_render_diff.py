"""`reconciler render` and `reconciler diff` on real git repositories against kubesim.

Exit codes of `diff` follow `flux diff`: 0 in sync, 1 differences, 2 error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reconciler.cli.main import main
from reconciler.engine.cluster import Cluster
from tests.conftest import GitRepo, hand_edit_image


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, kubeconfig: Path, tmp_path: Path) -> dict[str, str]:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("RECONCILER_DATA_DIR", str(tmp_path / "data"))
    return {"KUBECONFIG": str(kubeconfig), "RECONCILER_DATA_DIR": str(tmp_path / "data")}


def app_file(tmp_path: Path, repo: GitRepo, rel: str) -> Path:
    target = tmp_path / Path(rel).name
    target.write_text((repo.path / rel).read_text())
    return target


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_render_helm_app_merges_value_files_in_order(
    env: dict[str, str], seed_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["render", "-f", str(app_file(tmp_path, seed_repo, "argocd/apps/api.yaml"))], capsys)
    assert code == 0
    docs = {d["kind"]: d for d in yaml.safe_load_all(out)}
    deployment = docs["Deployment"]
    assert deployment["spec"]["replicas"] == 3  # values-prod.yaml overrides values.yaml
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/api:abc123def"
    assert deployment["metadata"]["namespace"] == "production"
    assert deployment["metadata"]["labels"]["app.kubernetes.io/instance"] == "api"
    assert deployment["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] == (
        "api:apps/Deployment:production/api"
    )


def test_render_app_of_apps_root_lists_child_applications(
    env: dict[str, str], seed_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["render", "-f", str(app_file(tmp_path, seed_repo, "argocd/root.yaml"))], capsys)
    assert code == 0
    names = sorted(d["metadata"]["name"] for d in yaml.safe_load_all(out) if d["kind"] == "Application")
    assert names == ["api", "infrastructure", "worker"]


def test_diff_of_a_new_app_reports_missing_resources_and_exits_1(
    env: dict[str, str], seed_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["diff", "-f", str(app_file(tmp_path, seed_repo, "argocd/apps/api.yaml"))], capsys)
    assert code == 1
    assert "=== Missing: Deployment.apps production/api" in out
    assert "=== Missing: Service production/api" in out


def _apply_rendered(kubesim: object, out: str) -> Cluster:
    cluster = Cluster.for_host(kubesim.url)  # type: ignore[attr-defined]
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "production"}})
    for doc in yaml.safe_load_all(out):
        cluster.apply(doc)
    return cluster


def test_diff_after_applying_the_render_is_clean_and_exits_0(
    env: dict[str, str], kubesim: object, seed_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = str(app_file(tmp_path, seed_repo, "argocd/apps/api.yaml"))
    _, rendered, _ = run(["render", "-f", app], capsys)
    _apply_rendered(kubesim, rendered)
    code, out, _ = run(["diff", "-f", app], capsys)
    assert code == 0, out
    assert "api at" in out and "Synced" in out


def test_diff_shows_a_manual_image_change_and_ignores_replicas(
    env: dict[str, str], kubesim: object, seed_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = str(app_file(tmp_path, seed_repo, "argocd/apps/api.yaml"))
    _, rendered, _ = run(["render", "-f", app], capsys)
    cluster = _apply_rendered(kubesim, rendered)
    hand = Cluster(cluster.api_client, field_manager="kubectl-edit")
    hand.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "production"},
            "spec": {"replicas": 7},
        }
    )
    code, out, _ = run(["diff", "-f", app], capsys)
    assert code == 0, out  # replicas is in ignoreDifferences (HPA-managed)
    hand_edit_image(cluster, "registry.example.com/api:hotfix")
    code, out, _ = run(["diff", "-f", app], capsys)
    assert code == 1
    assert "=== OutOfSync: Deployment.apps production/api" in out
    assert "-        image: registry.example.com/api:hotfix" in out
    assert "+        image: registry.example.com/api:abc123def" in out


def test_diff_reports_malformed_yaml_with_the_file_and_exits_2(
    env: dict[str, str], seed_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_repo.commit({"infrastructure/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n"})
    code, _, err = run(["diff", "-f", str(app_file(tmp_path, seed_repo, "argocd/apps/infrastructure.yaml"))], capsys)
    assert code == 2
    assert "broken.yaml" in err


def test_diff_reports_helm_template_error_naming_the_template(
    env: dict[str, str], seed_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_repo.commit({"apps/api/templates/bad.yaml": "kind: ConfigMap\nname: {{ .Values.nope.deeper }}\n"})
    code, _, err = run(["diff", "-f", str(app_file(tmp_path, seed_repo, "argocd/apps/api.yaml"))], capsys)
    assert code == 2
    assert "templates/bad.yaml" in err


def test_diff_of_an_unknown_revision_says_which_revision_and_exits_2(
    env: dict[str, str], seed_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = str(app_file(tmp_path, seed_repo, "argocd/apps/api.yaml"))
    code, _, err = run(["diff", "-f", app, "--revision", "no-such-branch"], capsys)
    assert code == 2
    assert '"no-such-branch" not found' in err


def test_diff_of_a_missing_path_names_the_path(
    env: dict[str, str], seed_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.yaml"
    app.write_text((seed_repo.path / "argocd/apps/worker.yaml").read_text().replace("apps/worker", "apps/nope"))
    code, _, err = run(["diff", "-f", str(app)], capsys)
    assert code == 2
    assert "apps/nope" in err


def test_diff_rejects_a_path_that_escapes_the_repository(
    env: dict[str, str], seed_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.yaml"
    app.write_text((seed_repo.path / "argocd/apps/worker.yaml").read_text().replace("apps/worker", "../../etc"))
    code, _, err = run(["diff", "-f", str(app)], capsys)
    assert code == 2
    assert "spec.source.path" in err


def test_diff_reports_duplicate_objects_naming_both_files(
    env: dict[str, str], seed_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = (seed_repo.path / "infrastructure/cert-manager/config.yaml").read_text()
    seed_repo.commit({"infrastructure/cert-manager/again.yaml": original})
    code, _, err = run(["diff", "-f", str(app_file(tmp_path, seed_repo, "argocd/apps/infrastructure.yaml"))], capsys)
    assert code == 2
    assert "again.yaml" in err and "config.yaml" in err


def test_diff_of_an_invalid_application_lists_each_problem_and_exits_2(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "bad-app.yaml"
    app.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: bad\n"
        "spec:\n  source:\n    targetRevision: HEAD\n  destination:\n    namespace: x\n"
    )
    code, _, err = run(["diff", "-f", str(app)], capsys)
    assert code == 2
    assert "bad-app.yaml" in err
    assert "spec.source.repoURL" in err
    assert "spec.destination" in err


def test_console_script_renders_from_a_file_url(env: dict[str, str], seed_repo: GitRepo, tmp_path: Path) -> None:
    app = app_file(tmp_path, seed_repo, "argocd/apps/worker.yaml")
    exe = Path(sys.executable).with_name("reconciler")
    out = subprocess.run(
        [str(exe), "render", "-f", str(app)], env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(out.stdout))
    assert kinds == ["ConfigMap", "Deployment"]
