"""Chart.yaml `dependencies`: fetched before rendering, as `helm dependency build` would.

A dependency vendored in `charts/` (at a version the constraint allows) is used as it is.
Any other is fetched into a scratch copy of the chart (the snapshot is shared and
read-only): `file://` paths from the repository (never outside it), `http(s)://` chart
repositories and `oci://` registries through ChartRepositories, only when the app's project
allows the repository (`repo_problem`, the project's sourceRepos, as for the app's own
source). Chart.lock, when present, pins the version. A dependency that cannot be had is a
RenderError naming the dependency and its repository: a chart never renders without a
dependency it declares. Helm's own listing of the dependencies runs in the render sandbox.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from reconciler.source.render.errors import RenderError
from reconciler.source.render.helm_engine import list_dependencies
from reconciler.source.render.paths import check_symlinks_inside, relative_name, safe_join
from reconciler.source.render.sandboxed import run_render

if TYPE_CHECKING:
    from reconciler.source.helm import ChartRepositories

MAX_DEPTH = 5
PRESENT = ("ok", "unpacked")


def with_dependencies(
    tree: Path,
    chart_dir: Path,
    charts: ChartRepositories | None,
    scratch: Path,
    *,
    depth: int = 0,
    allow_repo: Callable[[str], str] | None = None,
) -> Path:
    """`chart_dir` when every declared dependency is present, else a copy under `scratch`
    with the missing ones fetched into its charts/ folder. `allow_repo(url)` says why the
    app's project may not fetch from a repository ("" when it may)."""
    chart_file = f"{relative_name(tree, chart_dir)}/Chart.yaml"
    declared = _declared(chart_dir, chart_file)
    if not declared:
        return chart_dir
    if depth > MAX_DEPTH:
        raise RenderError(f"dependencies nest deeper than {MAX_DEPTH} charts (a file:// cycle?)", file=chart_file)
    listed = run_render(list_dependencies, (chart_dir, chart_file), tool="helm dependency list", origin=chart_file)
    # "unpacked": vendored as a folder in charts/ (at a version the constraint allows), as good as an archive.
    missing = [entry for entry in listed if entry.get("status") not in PRESENT]
    if not missing:
        return chart_dir
    locked = _locked_versions(chart_dir, chart_file)
    copy = scratch / f"{depth}-{chart_dir.name}" / chart_dir.name
    shutil.copytree(chart_dir, copy, symlinks=False)
    (copy / "charts").mkdir(exist_ok=True)
    for entry in missing:
        name, repository = str(entry.get("name", "")), str(entry.get("repository", "") or "")
        where = f"dependency {name!r} (repository {repository or 'none'!r})"
        for stale in (copy / "charts").glob(f"{name}-*.tgz"):  # a vendored archive at another version
            stale.unlink()
        if (copy / "charts" / name).is_dir():
            shutil.rmtree(copy / "charts" / name)
        version = locked.get(name) or str(entry.get("version", "") or "")
        if repository.startswith("file://"):
            path = repository.removeprefix("file://")
            source = safe_join(tree, path, field=f"{chart_file} {where}", base=chart_dir, allow_parent=True)
            if not (source / "Chart.yaml").is_file():
                raise RenderError(f"{where}: no Chart.yaml at {relative_name(tree, source)}", file=chart_file)
            check_symlinks_inside(tree, source)
            built = with_dependencies(tree, source, charts, scratch, depth=depth + 1, allow_repo=allow_repo)
            shutil.copytree(built, copy / "charts" / name, symlinks=False)
        elif repository.startswith(("http://", "https://", "oci://")):
            if charts is None:
                raise RenderError(f"{where} is not vendored in charts/ and cannot be fetched here", file=chart_file)
            refused = allow_repo(repository) if allow_repo is not None else ""
            if refused:
                raise RenderError(f"{where} is not fetched: {refused}", file=chart_file)
            try:
                ref = charts.resolve(repository, name, version or "*", field=f"{chart_file} {where}")
                archive = charts.archive(ref, field=f"{chart_file} {where}")
            except RenderError as err:
                raise RenderError(err.message, file=chart_file) from None
            shutil.copyfile(archive, copy / "charts" / f"{name}-{ref.version}.tgz")
        elif repository.startswith("@") or (repository and "://" not in repository):
            raise RenderError(
                f"{where} names a repository added with `helm repo add`, which is not known here: "
                "write the repository's URL (https://... or oci://...) instead",
                file=chart_file,
            )
        else:
            raise RenderError(
                f"{where} is declared but missing in charts/ and has no repository to fetch it from: "
                "vendor it into charts/ or give its repository URL",
                file=chart_file,
            )
    return copy


def _declared(chart_dir: Path, chart_file: str) -> list[dict[str, Any]]:
    try:
        metadata = yaml.safe_load((chart_dir / "Chart.yaml").read_text(encoding="utf-8-sig")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise RenderError(f"cannot read Chart.yaml: {err}", file=chart_file) from None
    dependencies = metadata.get("dependencies") if isinstance(metadata, dict) else None
    return [d for d in dependencies or [] if isinstance(d, dict)]


def _locked_versions(chart_dir: Path, chart_file: str) -> dict[str, str]:
    lock = chart_dir / "Chart.lock"
    if not lock.is_file():
        return {}
    try:
        locked = yaml.safe_load(lock.read_text(encoding="utf-8-sig")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        lock_file = chart_file.replace("Chart.yaml", "Chart.lock")
        raise RenderError(f"cannot read Chart.lock: {err}", file=lock_file) from None
    entries = locked.get("dependencies") if isinstance(locked, dict) else None
    pinned = [e for e in entries or [] if isinstance(e, dict) and e.get("version")]
    return {str(e.get("name")): str(e.get("version")) for e in pinned}
