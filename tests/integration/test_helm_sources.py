"""Helm sources Argo CD users have, through `app create`, a worker and kubesim: charts from
HTTP repositories (basic auth) and OCI registries, Chart.yaml dependencies, Helm options;
and `reconciler render -f` printing what the worker applies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli.main import main
from tests.conftest import fixture_files
from tests.helm_servers import HelmRepository, OciRegistry, helm_repository, oci_registry, package_chart
from tests.integration.conftest import System
from tests.integration.test_no_silent_failure import condition_of
from tests.integration.test_sync_flow import create_app, manual_app

AUTOMATED = "  syncPolicy:\n    automated: {}\n"


@pytest.fixture
def chart_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HelmRepository]:
    """An HTTP chart repository behind basic auth; its credentials configured by URL prefix."""
    with helm_repository(tmp_path / "http", "alice", "s3cret-pw") as repo:
        repo.add("greeting", "1.0.0", "1.2.0", "2.0.0")
        monkeypatch.setenv("RECONCILER_REPO_CHARTS_URL", repo.url)
        monkeypatch.setenv("RECONCILER_REPO_CHARTS_USERNAME", "alice")
        monkeypatch.setenv("RECONCILER_REPO_CHARTS_PASSWORD", "s3cret-pw")
        yield repo


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[OciRegistry]:
    with oci_registry(tmp_path / "oci") as oci:
        for version in ("1.0.0", "1.5.0", "2.0.0"):
            oci.push(package_chart("greeting", version, tmp_path / "packages"))
        yield oci


@pytest.fixture
def private_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OciRegistry]:
    """An OCI registry behind basic auth; its credentials configured by URL prefix."""
    with oci_registry(tmp_path / "private-oci", "dave", "0ci-secret") as oci:
        oci.push(package_chart("greeting", "3.1.0", tmp_path / "private-packages"))
        monkeypatch.setenv("RECONCILER_REPO_OCI_URL", oci.url)
        monkeypatch.setenv("RECONCILER_REPO_OCI_USERNAME", "dave")
        monkeypatch.setenv("RECONCILER_REPO_OCI_PASSWORD", "0ci-secret")
        yield oci


def chart_app(name: str, repo_url: str, chart: str, revision: str, helm: str = "") -> str:
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        f"metadata:\n  name: {name}\n  namespace: argocd\n"
        "spec:\n  project: default\n"
        f"  source:\n    repoURL: {repo_url}\n    chart: {chart}\n    targetRevision: '{revision}'\n{helm}"
        "  destination:\n    server: https://kubernetes.default.svc\n    namespace: default\n"
        f"{AUTOMATED}"
    )


def rendered_by_cli(tmp_path: Path, manifest: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    app_file = tmp_path / "render-app.yaml"
    app_file.write_text(manifest)
    code = main(["render", "-f", str(app_file)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(out)}


def synced_configmap(system: System, name: str) -> dict[str, Any]:
    return system.wait_for(lambda: system.cluster.get("v1", "ConfigMap", "default", name), what=f"ConfigMap {name}")


@pytest.mark.timeout(60)
def test_chart_from_an_http_repository_with_basic_auth_and_a_version_range_is_synced(
    system: System, chart_repo: HelmRepository, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = chart_app("greet", chart_repo.url, "greeting", "1.*")
    create_app(system, manifest)
    applied = synced_configmap(system, "greet-greeting")
    assert applied["data"] == {"message": "hello", "chartVersion": "1.2.0"}  # the highest 1.x
    status = system.wait_for(lambda: (s := system.status("greet"))["sync"]["status"] == "Synced" and s)
    assert status["sync"]["revision"] == "1.2.0"
    assert "s3cret-pw" not in str(status)
    assert rendered_by_cli(tmp_path, manifest, capsys)["greet-greeting"]["data"] == applied["data"]


@pytest.mark.timeout(60)
def test_chart_from_an_http_repository_without_its_credentials_is_an_error_naming_the_repository(
    system: System, tmp_path: Path
) -> None:
    with helm_repository(tmp_path / "locked", "bob", "hunter2") as locked:
        locked.add("greeting", "1.0.0")
        create_app(system, chart_app("locked", locked.url, "greeting", "1.0.0"))
        condition = system.wait_for(lambda: condition_of(system, "locked"), what="a condition")
    assert condition["type"] == "ComparisonError"
    assert locked.url in condition["message"] and "401" in condition["message"]


@pytest.mark.timeout(60)
def test_pass_credentials_sends_them_to_chart_urls_on_another_host(
    system: System, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with helm_repository(tmp_path / "split", "carol", "pa55word") as split:
        # The index lists the archive under "localhost", the repository is "127.0.0.1": another host.
        split.add("greeting", "1.0.0", base_url=split.url.replace("127.0.0.1", "localhost"))
        monkeypatch.setenv("RECONCILER_REPO_SPLIT_URL", split.url)
        monkeypatch.setenv("RECONCILER_REPO_SPLIT_USERNAME", "carol")
        monkeypatch.setenv("RECONCILER_REPO_SPLIT_PASSWORD", "pa55word")
        create_app(system, chart_app("withheld", split.url, "greeting", "1.0.0"))
        condition = system.wait_for(lambda: condition_of(system, "withheld"), what="a condition")
        assert "cannot download chart" in condition["message"] and "401" in condition["message"]
        assert "pa55word" not in condition["message"]
        create_app(system, chart_app("passed", split.url, "greeting", "1.0.0", "    helm: {passCredentials: true}\n"))
        assert synced_configmap(system, "passed-greeting")["data"]["chartVersion"] == "1.0.0"


@pytest.mark.timeout(60)
def test_chart_from_an_oci_registry_is_synced_at_the_highest_matching_version(
    system: System, registry: OciRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = chart_app("ocigreet", registry.url, "greeting", ">=1.0 <2.0")
    create_app(system, manifest)
    applied = synced_configmap(system, "ocigreet-greeting")
    assert applied["data"]["chartVersion"] == "1.5.0"
    status = system.wait_for(lambda: (s := system.status("ocigreet"))["sync"]["status"] == "Synced" and s)
    assert status["sync"]["revision"] == "1.5.0"
    assert rendered_by_cli(tmp_path, manifest, capsys)["ocigreet-greeting"]["data"] == applied["data"]


def umbrella_repo(git_repo_factory: Any, repository: str) -> Any:
    files = fixture_files("charts/umbrella", under="charts/umbrella")
    files |= fixture_files("charts/local", under="charts/local")
    files["charts/umbrella/Chart.yaml"] = files["charts/umbrella/Chart.yaml"].replace("REPOSITORY", repository)
    return git_repo_factory(files)


@pytest.mark.timeout(60)
def test_chart_dependencies_from_a_repository_and_a_file_path_are_fetched_before_rendering(
    system: System, git_repo_factory: Any, chart_repo: HelmRepository, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = umbrella_repo(git_repo_factory, chart_repo.url)
    manifest = manual_app(repo, "umbrella", "charts/umbrella", AUTOMATED)
    create_app(system, manifest)
    assert synced_configmap(system, "umbrella")["data"] == {"parent": "yes"}
    assert synced_configmap(system, "umbrella-greeting")["data"]["chartVersion"] == "1.2.0"
    assert synced_configmap(system, "umbrella-local")["data"] == {"from": "file-dependency"}
    rendered = rendered_by_cli(tmp_path, manifest, capsys)
    assert sorted(rendered) == ["umbrella", "umbrella-greeting", "umbrella-local"]


@pytest.mark.timeout(60)
def test_an_unreachable_chart_dependency_is_an_error_naming_the_dependency_and_repository(
    system: System, git_repo_factory: Any
) -> None:
    repo = umbrella_repo(git_repo_factory, "http://127.0.0.1:1/charts")
    create_app(system, manual_app(repo, "broken-deps", "charts/umbrella", AUTOMATED))
    condition = system.wait_for(lambda: condition_of(system, "broken-deps"), what="a condition")
    assert condition["type"] == "ComparisonError"
    assert "charts/umbrella/Chart.yaml" in condition["message"]
    assert "dependency 'greeting'" in condition["message"] and "http://127.0.0.1:1/charts" in condition["message"]
    assert system.cluster.get("v1", "ConfigMap", "default", "umbrella") is None


HELM_OPTIONS = """\
    helm:
      skipCrds: true
      skipSchemaValidation: true
      parameters: [{name: replicas, value: many}]
      fileParameters: [{name: motd, path: motd.txt}]
"""


@pytest.mark.timeout(60)
def test_helm_options_and_the_destination_capabilities_reach_the_templates(
    system: System, git_repo_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = git_repo_factory(fixture_files("charts/capable", under="capable"))
    manifest = manual_app(repo, "capable", "capable", AUTOMATED).replace(
        "    path: capable\n", "    path: capable\n" + HELM_OPTIONS
    )
    create_app(system, manifest)
    data = synced_configmap(system, "capabilities")["data"]
    assert data["kubeVersion"] == system.cluster.capabilities().kube_version  # kubesim's, not Helm's default
    assert data["hasApps"] == "true" and data["hasWidgets"] == "false"
    assert data["replicas"] == "many"  # the schema wants an integer: skipSchemaValidation
    assert data["motd"] == "Welcome from a file parameter\n"
    crd = ("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "widgets.example.com")
    assert system.cluster.get(*crd) is None
    assert rendered_by_cli(tmp_path, manifest, capsys)["capabilities"]["data"] == data


@pytest.mark.timeout(60)
def test_helm_kube_version_and_api_versions_override_the_cluster_and_the_schema_is_enforced_by_default(
    system: System, git_repo_factory: Any
) -> None:
    repo = git_repo_factory(fixture_files("charts/capable", under="capable"))
    overrides = "    helm:\n      kubeVersion: 1.27.4\n      apiVersions: [example.com/v1]\n"
    create_app(system, manual_app(repo, "pinned", "capable", AUTOMATED).replace(
        "    path: capable\n", "    path: capable\n" + overrides
    ))
    data = synced_configmap(system, "capabilities")["data"]
    assert data["kubeVersion"] == "v1.27.4" and data["hasWidgets"] == "true" and data["hasApps"] == "false"
    assert system.cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "widgets.example.com")
    invalid = "    helm:\n      parameters: [{name: replicas, value: many}]\n"
    create_app(system, manual_app(repo, "schema", "capable", AUTOMATED).replace(
        "    path: capable\n", "    path: capable\n" + invalid
    ))
    condition = system.wait_for(lambda: condition_of(system, "schema"), what="a schema condition")
    assert "replicas" in condition["message"] and "integer" in condition["message"]


@pytest.mark.timeout(60)
def test_chart_from_a_private_oci_registry_uses_its_credentials_by_url_prefix(
    system: System, private_registry: OciRegistry, tmp_path: Path
) -> None:
    from reconciler.source.helm import ChartFetchError, ChartRepositories

    with pytest.raises(ChartFetchError, match=r"HTTP 401 \(Unauthorized\)"):  # the registry does want them
        ChartRepositories(tmp_path / "no-credentials").resolve(private_registry.url, "greeting", "3.*")
    create_app(system, chart_app("private", private_registry.url, "greeting", "3.*"))
    assert synced_configmap(system, "private-greeting")["data"]["chartVersion"] == "3.1.0"
    status = system.wait_for(lambda: (s := system.status("private"))["sync"]["status"] == "Synced" and s)
    assert "0ci-secret" not in str(status)
