"""Helm's engine, run inside the render sandbox: values, `helm template`, dependency listing and
archive expansion, through helm-python-sdk (Helm's Go engine over ctypes).

Everything here runs in a sandbox process (reconciler.core.sandbox), never in a worker or the
API: a chart's templates are code from whoever can push to its repository, and the Go engine
cannot be stopped from Python. helm.py is the worker's side. This is the only module that
touches helm_python for rendering (a young library): what it returns is turned into plain
data and RenderErrors here.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.model import HelmSource
from reconciler.source.render.capabilities import Capabilities
from reconciler.source.render.errors import RenderError
from reconciler.source.render.helm_values import merge_set, merge_values_file, set_expression
from reconciler.source.render.limits import check_text_size
from reconciler.source.render.manifests import Manifest, load_yaml_documents, parse_yaml_stream
from reconciler.source.render.paths import relative_name, safe_join
from reconciler.source.render.sandboxed import render_job, to_rows

if TYPE_CHECKING:
    import helm_python

SCHEMA_FILE = "values.schema.json"
HOOK_ANNOTATION = "helm.sh/hook"
_TEMPLATE_POSITION = re.compile(r"(?P<path>[^\s():\"]+?\.(?:ya?ml|tpl|txt|json)):(?P<line>\d+)")


def sandbox_warm_up() -> None:
    """In a new sandbox process: load Helm's Go runtime before the first job's limits are set."""
    import helm_python  # noqa: F401


@render_job
def template_chart(
    tree: Path,
    chart_dir: Path,
    chart_path: Path,
    options: HelmSource,
    release_name: str,
    namespace: str,
    capabilities: Capabilities,
    refs: Mapping[str, Path] | None,
    scratch: Path,
) -> list[list[Any]]:
    """`helm template` of the chart at `chart_path` (`chart_dir` with its dependencies fetched
    into a copy, or `chart_dir` itself): CRDs included unless skipCrds, test hooks left out.
    Values are composed from `chart_dir`'s repository files. Manifests as sandboxed.to_rows."""
    import helm_python

    chart_file = relative_name(tree, chart_dir)
    release = options.release_name or release_name
    try:
        helm_python.validate_release_name(release)
    except helm_python.HelmError as err:
        raise RenderError(
            f"release name {release!r} is not valid for Helm ({err.detail}): "
            "set spec.source.helm.releaseName to at most 53 lowercase letters, digits and '-'",
            file=chart_file,
        ) from None
    values = compose_values(tree, chart_dir, options, refs)
    render_options = _render_options(release, options.namespace or namespace, options, capabilities)
    if options.skip_schema_validation:
        chart_path = _without_schemas(chart_path, scratch)
    try:
        with helm_python.Chart.load(chart_path) as chart:
            rendered = _render_templates(chart, values, render_options)
            crds = [] if options.skip_crds else chart.crds
    except helm_python.HelmChartLoadError as err:
        raise RenderError(f"cannot load Helm chart: {err.detail}", file=f"{chart_file}/Chart.yaml") from None
    except helm_python.HelmError as err:
        raise _template_error(err, chart_file) from None
    return to_rows(_collect_objects(chart_file, rendered, crds))


@render_job
def list_dependencies(chart_dir: Path, chart_file: str) -> list[dict[str, Any]]:
    """`helm dependency list`: each declared dependency with its status (ok, unpacked, missing, ...)."""
    import helm_python

    try:
        return list(helm_python.dependency_list(chart_dir))
    except helm_python.HelmError as err:
        raise RenderError(f"cannot read the chart's dependencies: {err}", file=chart_file) from None


@render_job
def expand_archive(destination: Path, archive: Path, what: str) -> None:
    """A chart archive unpacked into `destination` (an archive is as untrusted as a template)."""
    import helm_python

    try:
        helm_python.expand(destination, archive)
    except helm_python.HelmError as err:
        raise RenderError(f"{what} is not a valid chart archive: {err}") from None


def _render_options(release: str, namespace: str, options: HelmSource, capabilities: Capabilities) -> dict[str, Any]:
    kube_version = options.kube_version or capabilities.kube_version
    return {
        "name": release,
        "namespace": namespace,
        "revision": 1,
        "is_install": True,
        "kube_version": kube_version if kube_version.startswith("v") else f"v{kube_version}",
        "api_versions": list(options.api_versions or capabilities.api_versions),
    }


def _without_schemas(chart_path: Path, scratch: Path) -> Path:
    """skipSchemaValidation: a copy of the chart with every values.schema.json removed,
    packaged subcharts expanded first so theirs go too (Helm's render always validates)."""
    import helm_python

    copy = scratch / "without-schemas" / chart_path.name
    shutil.copytree(chart_path, copy, symlinks=False)
    while archives := sorted(copy.rglob("charts/*.tgz")):
        for archive in archives:
            try:
                helm_python.expand(archive.parent, archive)
            except helm_python.HelmError as err:
                raise RenderError(f"cannot expand the subchart {archive.name}: {err}") from None
            archive.unlink()
    for schema in copy.rglob(SCHEMA_FILE):
        schema.unlink()
    return copy


def compose_values(
    tree: Path, chart_dir: Path, options: HelmSource, refs: Mapping[str, Path] | None = None
) -> dict[str, Any]:
    """User values in Argo CD's order: valueFiles, then values (or valuesObject, which
    replaces it as in Argo CD), then parameters. Chart defaults are applied by Helm.
    `refs` are the trees of a multi-source app's `ref` sources, for `$name/...` value files."""
    values: dict[str, Any] = {}
    for index, entry in enumerate(options.value_files):
        field = f"spec.source.helm.valueFiles[{index}]"
        loaded = _load_value_file(tree, chart_dir, entry, field, options.ignore_missing_value_files, refs or {})
        if loaded is not None:
            values = merge_values_file(values, loaded)
    if options.values_object is not None:
        values = merge_values_file(values, options.values_object)
    elif options.values.strip():
        values = merge_values_file(values, _parse_values_text(options.values, "spec.source.helm.values"))
    for index, parameter in enumerate(options.parameters):
        values = merge_set(values, _parse_parameter(parameter.name, parameter.value, parameter.force_string, index))
    for index, file_parameter in enumerate(options.file_parameters):
        parsed = _parse_file_parameter(tree, chart_dir, file_parameter.name, file_parameter.path, index)
        values = merge_set(values, parsed)
    return values


def _parse_file_parameter(tree: Path, chart_dir: Path, name: str, path: str, index: int) -> dict[str, Any]:
    """`--set-file name=path`: the file's content as the value; the file must be in the repository."""
    import helm_python

    field = f"spec.source.helm.fileParameters[{index}] ({name})"
    resolved = safe_join(tree, path, field=field, base=chart_dir, allow_parent=True)
    if not resolved.is_file():
        raise RenderError(f"{field}: file not found; add it or fix the path", file=relative_name(tree, resolved))
    try:
        return helm_python.parse_set_file(set_expression(name, str(resolved)))
    except helm_python.HelmError as err:
        raise RenderError(f"{field}: cannot set the value from the file: {err.detail}") from None


def _load_value_file(
    tree: Path, chart_dir: Path, entry: str, field: str, ignore_missing: bool, refs: Mapping[str, Path]
) -> dict[str, Any] | None:
    if "://" in entry:
        raise RenderError(
            f"{field} {entry!r} is a URL: remote value files are not supported; "
            "commit the file to the repository and give a path relative to the chart"
        )
    if entry.startswith("$"):
        name, _, inside = entry[1:].partition("/")
        if name not in refs:
            raise RenderError(
                f"{field} {entry!r} refers to ${name}, which no source of spec.sources names with ref: {name}"
            )
        # As in Argo CD: the path is relative to the root of the ref source's repository.
        path = safe_join(refs[name], inside, field=field)
        file = f"${name}/{relative_name(refs[name], path)}"
    else:
        path = safe_join(tree, entry, field=field, base=chart_dir, allow_parent=True)
        file = relative_name(tree, path)
    if not path.is_file():
        if ignore_missing:
            return None
        raise RenderError(
            f"{field}: value file not found; add it or set spec.source.helm.ignoreMissingValueFiles: true",
            file=file,
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise RenderError(f"{field}: cannot read value file: {err}", file=file) from None
    documents = load_yaml_documents(text, file)
    if not documents:
        return {}
    _, line, first = documents[0]
    if not isinstance(first, dict):
        raise RenderError(f"{field}: a value file must hold a mapping of keys", file=file, line=line)
    return first


def _parse_values_text(text: str, field: str) -> dict[str, Any]:
    try:
        documents = load_yaml_documents(text, field)
    except RenderError as err:
        raise RenderError(f"{field} line {err.line}: {err.message}") from None
    if not documents:
        return {}
    value = documents[0][2]
    if not isinstance(value, dict):
        raise RenderError(f"{field} must be a YAML mapping of keys, not a {type(value).__name__}")
    return value


def _parse_parameter(name: str, value: str, force_string: bool, index: int) -> dict[str, Any]:
    import helm_python

    field = f"spec.source.helm.parameters[{index}] ({name})"
    if not name:
        raise RenderError(f"{field}: the parameter has no name")
    expression = set_expression(name, value)
    try:
        if force_string:
            return helm_python.parse_set_string_values(expression)
        return helm_python.parse_set_string(expression)
    except helm_python.HelmError as err:
        raise RenderError(f"{field}: not a valid --set expression: {err.detail}") from None


def _render_templates(chart: helm_python.Chart, values: dict[str, Any], options: dict[str, Any]) -> dict[str, str]:
    from helm_python import _native

    # Chart.render() has no kube_version or api_versions argument although the C call
    # takes both; pass them so .Capabilities describe the destination, not the SDK's build.
    payload = _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(options))
    rendered: dict[str, str] = json.loads(payload)
    return rendered


def _collect_objects(chart_file: str, rendered: dict[str, str], crds: list[dict[str, str]]) -> list[Manifest]:
    size = sum(len(text) for text in rendered.values()) + sum(len(crd.get("data", "")) for crd in crds)
    check_text_size(size, tool="helm template", origin=chart_file)
    manifests: list[Manifest] = []
    for crd in sorted(crds, key=lambda entry: entry.get("name", "")):
        manifests.extend(parse_yaml_stream(crd.get("data", ""), _repo_path(chart_file, crd.get("name", ""))))
    for template in sorted(rendered):
        if template.endswith("NOTES.txt"):
            continue
        for manifest in parse_yaml_stream(rendered[template], _repo_path(chart_file, template)):
            if not _is_test_hook(manifest.obj):
                manifests.append(manifest)
    return manifests


def _is_test_hook(obj: dict[str, Any]) -> bool:
    # Argo CD maps install/upgrade hooks to its own hooks but ignores `helm test` hooks.
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    hooks = str(annotations.get(HOOK_ANNOTATION, ""))
    return any(hook.strip().startswith("test") for hook in hooks.split(","))


def _repo_path(chart_file: str, template: str) -> str:
    """`mychart/templates/x.yaml` (Helm names start with the chart's name) -> repository path."""
    _, _, inside = template.partition("/")
    prefix = "" if chart_file in ("", ".") else chart_file + "/"
    return prefix + (inside or template)


def _template_error(err: helm_python.HelmError, chart_file: str) -> RenderError:
    detail = err.detail or str(err)
    match = _TEMPLATE_POSITION.search(detail)
    if match is None:
        return RenderError(f"helm template failed: {detail}", file=chart_file)
    return RenderError(
        f"helm template failed: {detail}",
        file=_repo_path(chart_file, match.group("path")),
        line=int(match.group("line")),
    )


@render_job
def read_index(path: Path, chart: str, shown_names: int) -> dict[str, Any]:
    """A Helm repository's index.yaml (downloaded to `path`), read in the sandbox: the versions
    of `chart` as {"versions": {version: [digest, archive URL]}}, or, when it has none, the
    first `shown_names` charts it does have as {"names": [...]}."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, "rb") as text:
            index = yaml.load(text, Loader=loader)
    except yaml.YAMLError:
        raise RenderError("the repository's index.yaml is not YAML") from None
    entries = index.get("entries") if isinstance(index, dict) else None
    if not isinstance(entries, dict):
        raise RenderError("the repository's index.yaml has no `entries` map: it is not a Helm repository index")
    listed = entries.get(chart)
    if not listed or not isinstance(listed, list):
        return {"names": sorted(str(name) for name in entries)[:shown_names]}
    versions = {}
    for entry in listed:
        if isinstance(entry, dict) and entry.get("version"):
            urls = entry.get("urls") if isinstance(entry.get("urls"), list) else []
            versions[str(entry["version"])] = [str(entry.get("digest") or ""), str(urls[0] if urls else "")]
    return {"versions": versions}
