"""ChartRepositories against real servers and Redis: the versions of a chart are read once per
window by all workers, archives once per digest; OCI dependencies are fetched like HTTP ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.source.git.credentials import CredentialStore, RepoCredentials
from reconciler.source.helm import ChartRepositories
from reconciler.source.render.helm_dependencies import with_dependencies
from reconciler.state import Store
from tests.conftest import fixture_files
from tests.helm_servers import helm_repository, oci_registry, package_chart


def test_versions_are_shared_through_redis_and_archives_cached_by_digest(tmp_path: Path, redis_client: Any) -> None:
    with helm_repository(tmp_path / "http", "u", "p") as repo:
        repo.add("greeting", "1.0.0", "1.1.0")
        creds = CredentialStore([(repo.url, RepoCredentials("u", "p"))])
        store = Store(redis_client)
        first = ChartRepositories(tmp_path / "worker1", creds, versions_ttl=60, shared=store)
        second = ChartRepositories(tmp_path / "worker2", creds, versions_ttl=60, shared=store)
        ref = first.resolve(repo.url, "greeting", "1.*")
        assert repo.requests.count("/charts/index.yaml") == 1
        assert second.resolve(repo.url, "greeting", "1.*") == ref  # from Redis: no second index request
        assert repo.requests.count("/charts/index.yaml") == 1
        archive = first.archive(ref)
        downloads = repo.requests.count("/charts/greeting-1.1.0.tgz")
        assert first.archive(ref) == archive and archive.stem == ref.digest
        assert repo.requests.count("/charts/greeting-1.1.0.tgz") == downloads
        first.close()
        second.close()


def test_an_oci_dependency_is_fetched_into_a_copy_of_the_chart(tmp_path: Path) -> None:
    with oci_registry(tmp_path / "oci") as registry:
        registry.push(package_chart("greeting", "1.3.0", tmp_path / "packages"))
        tree = tmp_path / "repo"
        files = fixture_files("charts/umbrella", under="umbrella") | fixture_files("charts/local", under="local")
        for name, text in files.items():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_text(text.replace("REPOSITORY", registry.url))
        charts = ChartRepositories(tmp_path / "cache")
        built = with_dependencies(tree, tree / "umbrella", charts, tmp_path / "scratch")
        charts.close()
    assert built != tree / "umbrella"  # the snapshot is never written to
    assert sorted(p.name for p in (built / "charts").iterdir()) == ["greeting-1.3.0.tgz", "local"]
    assert not (tree / "umbrella" / "charts").exists()


@pytest.mark.parametrize("repository", ["@stable", "stable", ""])
def test_a_dependency_without_a_fetchable_repository_is_an_error_naming_it(tmp_path: Path, repository: str) -> None:
    from reconciler.source.render import RenderError

    tree = tmp_path / "repo"
    (tree / "app").mkdir(parents=True)
    (tree / "app" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: app\nversion: 0.1.0\n"
        f"dependencies:\n  - name: redis\n    version: 1.0.0\n    repository: '{repository}'\n"
    )
    with pytest.raises(RenderError, match=r"dependency 'redis'") as raised:
        with_dependencies(tree, tree / "app", ChartRepositories(tmp_path / "cache"), tmp_path / "scratch")
    assert raised.value.file == "app/Chart.yaml"


def test_a_dependency_vendored_as_a_folder_is_used_as_it_is(tmp_path: Path) -> None:
    tree = tmp_path / "repo"
    (tree / "app" / "charts").mkdir(parents=True)
    (tree / "app" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: app\nversion: 0.1.0\n"
        "dependencies:\n  - name: local\n    version: 0.1.x\n    repository: https://charts.invalid/\n"
    )
    for name, text in fixture_files("charts/local", under="app/charts/local").items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    # No ChartRepositories: any attempt to fetch would be an error.
    assert with_dependencies(tree, tree / "app", None, tmp_path / "scratch") == tree / "app"
