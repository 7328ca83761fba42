"""Reading `spec.source` and `spec.sources`: repository and chart, path, Helm, Kustomize,
directory and Jsonnet options. Every field either works or is refused by name, so nothing
Argo CD would honour is silently ignored."""


from __future__ import annotations

import copy
import re
from typing import Any

from reconciler.core.urls import repo_url_problem, revision_problem
from reconciler.model.types import (
    DirectorySource,
    HelmFileParameter,
    HelmParameter,
    HelmSource,
    JsonnetOptions,
    JsonnetVar,
    KustomizeReplica,
    KustomizeSource,
    Source,
)
from reconciler.model.yaml_reader import (
    FieldReader,
    describe_value,
)


def _read_jsonnet_vars(r: FieldReader, obj: dict[str, Any], key: str, path: str) -> tuple[JsonnetVar, ...]:
    return tuple(
        JsonnetVar(
            name=r.required_string(item, "name", f"{item_path}.name", "the variable's name"),
            value=r.string(item, "value", f"{item_path}.value"),
            code=r.boolean(item, "code", f"{item_path}.code"),
        )
        for item, item_path in r.mappings(obj, key, f"{path}.{key}", "name and value")
    )


def _read_jsonnet(r: FieldReader, obj: dict[str, Any], path: str) -> JsonnetOptions:
    _refuse_unknown(r, obj, _JSONNET_FIELDS, path, "Jsonnet")
    libs = r.strings(obj, "libs", f"{path}.libs")
    for index, lib in enumerate(libs):
        if lib.startswith("/") or _path_escapes_repo(lib):
            r.problem(f"{path}.libs[{index}]", f'"{lib}" must be a folder inside the repository, relative to its root')
    return JsonnetOptions(
        ext_vars=_read_jsonnet_vars(r, obj, "extVars", path),
        tlas=_read_jsonnet_vars(r, obj, "tlas", path),
        libs=libs,
    )


def _read_directory(r: FieldReader, obj: dict[str, Any], path: str) -> DirectorySource:
    _refuse_unknown(r, obj, _DIRECTORY_FIELDS, path, "directory sources")
    jsonnet = r.mapping(obj, "jsonnet", f"{path}.jsonnet")
    return DirectorySource(
        recurse=r.boolean(obj, "recurse", f"{path}.recurse"),
        include=r.string(obj, "include", f"{path}.include"),
        exclude=r.string(obj, "exclude", f"{path}.exclude"),
        jsonnet=_read_jsonnet(r, jsonnet, f"{path}.jsonnet") if jsonnet is not None else None,
    )


def _read_helm(r: FieldReader, obj: dict[str, Any], path: str) -> HelmSource:
    _refuse_unknown(r, obj, _HELM_FIELDS, path, "Helm sources")
    values = obj.get("values")
    if isinstance(values, dict):
        r.problem(f"{path}.values", "must be a YAML string (write `values: |`), or move the mapping to valuesObject")
        values = None
    parameters = [
        HelmParameter(
            name=r.required_string(item, "name", f"{item_path}.name", "the Helm value to set, like image.tag"),
            value=r.string(item, "value", f"{item_path}.value"),
            force_string=r.boolean(item, "forceString", f"{item_path}.forceString"),
        )
        for item, item_path in r.mappings(obj, "parameters", f"{path}.parameters", "name and value")
    ]
    values_object = r.mapping(obj, "valuesObject", f"{path}.valuesObject")
    file_parameters = []
    for item, item_path in r.mappings(obj, "fileParameters", f"{path}.fileParameters", "name and path"):
        name, file = r.string(item, "name", f"{item_path}.name"), r.string(item, "path", f"{item_path}.path")
        if not name or not file:
            r.problem(item_path, "needs name (the Helm value to set) and path (a file in the repository)")
        file_parameters.append(HelmFileParameter(name=name, path=file))
    version = r.string(obj, "version", f"{path}.version")
    if version not in ("", "v3"):
        r.problem(f"{path}.version", f'"{version}" is not supported: only Helm 3 (v3) renders charts here')
    kube_version = r.string(obj, "kubeVersion", f"{path}.kubeVersion")
    if kube_version and not re.fullmatch(r"v?\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.-]+)?", kube_version):
        r.problem(f"{path}.kubeVersion", f'"{kube_version}" is not a Kubernetes version like 1.29.0 or v1.29.0')
    return HelmSource(
        value_files=r.strings(obj, "valueFiles", f"{path}.valueFiles"),
        values=r.string({"values": values}, "values", f"{path}.values"),
        values_object=copy.deepcopy(values_object) if values_object is not None else None,
        parameters=tuple(parameters),
        release_name=r.string(obj, "releaseName", f"{path}.releaseName"),
        ignore_missing_value_files=r.boolean(obj, "ignoreMissingValueFiles", f"{path}.ignoreMissingValueFiles"),
        file_parameters=tuple(file_parameters),
        version=version,
        skip_crds=r.boolean(obj, "skipCrds", f"{path}.skipCrds"),
        skip_schema_validation=r.boolean(obj, "skipSchemaValidation", f"{path}.skipSchemaValidation"),
        pass_credentials=r.boolean(obj, "passCredentials", f"{path}.passCredentials"),
        kube_version=kube_version,
        api_versions=r.strings(obj, "apiVersions", f"{path}.apiVersions"),
        namespace=r.string(obj, "namespace", f"{path}.namespace"),
        skip_tests=r.boolean(obj, "skipTests", f"{path}.skipTests"),
    )


# Argo CD kustomize fields this system does not apply: refused by name, never ignored.
_KUSTOMIZE_REFUSED = {
    "version": "one kustomize engine renders here (kustomize or kubectl kustomize on PATH); remove version",
    "kubeVersion": "Helm charts inflated by kustomize are not given a kubeVersion here; remove it",
    "apiVersions": "Helm charts inflated by kustomize are not given apiVersions here; remove it",
    "ignoreMissingComponents": "a missing component is always an error here; remove it or the component",
    "labelIncludeTemplates": "not supported; remove it",
}


def _read_kustomize(r: FieldReader, obj: dict[str, Any], path: str) -> KustomizeSource:
    _refuse_unknown(r, obj, _KUSTOMIZE_FIELDS | set(_KUSTOMIZE_REFUSED), path, "Kustomize sources")
    for key, reason in _KUSTOMIZE_REFUSED.items():
        if obj.get(key) not in (None, "", False, []):
            r.problem(f"{path}.{key}", reason)
    replicas = []
    for item, item_path in r.mappings(obj, "replicas", f"{path}.replicas", "name and count"):
        name = r.string(item, "name", f"{item_path}.name")
        count = item.get("count")
        if isinstance(count, str) and count.isdigit():
            count = int(count)
        if not name or isinstance(count, bool) or not isinstance(count, int) or count < 0:
            r.problem(item_path, "needs name (a Deployment or StatefulSet) and count (a whole number, 0 or more)")
            continue
        replicas.append(KustomizeReplica(name=name, count=count))
    patches = []
    for index, item in enumerate(r.items(obj, "patches", f"{path}.patches")):
        item_path = f"{path}.patches[{index}]"
        if not isinstance(item, dict) or not (isinstance(item.get("patch"), str) or isinstance(item.get("path"), str)):
            r.problem(item_path, "must be a mapping with patch (inline) or path (a file), and optionally target")
            continue
        file = item.get("path")
        if isinstance(file, str) and file.startswith("/"):
            r.problem(f"{item_path}.path", f'"{file}" is absolute: give a file relative to the source path')
        patches.append(copy.deepcopy(item))
    components = r.strings(obj, "components", f"{path}.components")
    for index, component in enumerate(components):
        if component.startswith("/"):
            r.problem(f"{path}.components[{index}]", f'"{component}" is absolute: give a folder relative to the path')
    return KustomizeSource(
        name_prefix=r.string(obj, "namePrefix", f"{path}.namePrefix"),
        name_suffix=r.string(obj, "nameSuffix", f"{path}.nameSuffix"),
        images=r.strings(obj, "images", f"{path}.images"),
        common_labels=r.string_map(obj, "commonLabels", f"{path}.commonLabels"),
        namespace=r.string(obj, "namespace", f"{path}.namespace"),
        common_annotations=r.string_map(obj, "commonAnnotations", f"{path}.commonAnnotations"),
        force_common_labels=r.boolean(obj, "forceCommonLabels", f"{path}.forceCommonLabels"),
        force_common_annotations=r.boolean(obj, "forceCommonAnnotations", f"{path}.forceCommonAnnotations"),
        common_annotations_envsubst=r.boolean(
            obj, "commonAnnotationsEnvsubst", f"{path}.commonAnnotationsEnvsubst"
        ),
        label_without_selector=r.boolean(obj, "labelWithoutSelector", f"{path}.labelWithoutSelector"),
        replicas=tuple(replicas),
        patches=tuple(patches),
        components=components,
    )


def _path_escapes_repo(path: str) -> bool:
    depth = 0
    for part in path.replace("\\", "/").split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


_REF_NAME = re.compile(r"[A-Za-z0-9_-]+")
# Every field a source (and its tool sections) may hold: anything else is refused by name at
# `app create`, so a field Argo CD would honour is never silently ignored here.
_SOURCE_FIELDS = {
    "repoURL", "path", "targetRevision", "chart", "helm", "kustomize", "directory", "plugin", "ref", "name",
}  # fmt: skip
_HELM_FIELDS = {
    "valueFiles", "values", "valuesObject", "parameters", "fileParameters", "releaseName",
    "ignoreMissingValueFiles", "version", "skipCrds", "skipSchemaValidation", "passCredentials",
    "kubeVersion", "apiVersions", "namespace", "skipTests",
}  # fmt: skip
_KUSTOMIZE_FIELDS = {
    "namePrefix", "nameSuffix", "images", "replicas", "commonLabels", "commonAnnotations", "forceCommonLabels",
    "forceCommonAnnotations", "labelWithoutSelector", "namespace", "patches", "components",
    "commonAnnotationsEnvsubst",
}  # fmt: skip
_DIRECTORY_FIELDS = {"recurse", "include", "exclude", "jsonnet"}
_JSONNET_FIELDS = {"extVars", "tlas", "libs"}


def _refuse_unknown(r: FieldReader, obj: dict[str, Any], known: set[str], path: str, what: str) -> None:
    for key in sorted(set(obj) - known):
        known_list = ", ".join(sorted(known))
        r.problem(f"{path}.{key}", f"is not a field this system applies to {what}; remove it (known: {known_list})")


def read_sources(r: FieldReader, spec: dict[str, Any]) -> tuple[Source, tuple[Source, ...]]:
    """(spec.source, ()) or, for a multi-source app, (its first source, all of spec.sources)."""
    if spec.get("sources") is None:
        obj = r.mapping(spec, "source", "spec.source")
        if obj is None:
            r.problem("spec.source", "required: give repoURL, path and targetRevision of the manifests")
            return Source(repo_url=""), ()
        source = _read_source(r, obj, "spec.source")
        if source.ref:
            r.problem("spec.source.ref", "only a source of spec.sources can be a ref; remove it")
        return source, ()
    if spec.get("source") is not None:
        r.problem("spec.source", "set spec.source or spec.sources, not both (Argo CD would ignore spec.source)")
    items = r.items(spec, "sources", "spec.sources")
    if not items:
        r.problem("spec.sources", "give at least one source")
        return Source(repo_url=""), ()
    sources = []
    for index, item in enumerate(items):
        prefix = f"spec.sources[{index}]"
        if not isinstance(item, dict):
            r.problem(prefix, f"must be a mapping with repoURL, path and targetRevision, found {describe_value(item)}")
            continue
        sources.append(_read_source(r, item, prefix))
    refs = [source.ref for source in sources if source.ref]
    for index, source in enumerate(sources):
        if source.ref and not _REF_NAME.fullmatch(source.ref):
            r.problem(f"spec.sources[{index}].ref", f'"{source.ref}" must be letters, digits, "-" and "_"')
        if source.ref and refs.count(source.ref) > 1:
            r.problem(f"spec.sources[{index}].ref", f'"{source.ref}" names two sources; give each a distinct name')
        if source.ref and source.chart:
            r.problem(f"spec.sources[{index}].ref", "a chart source cannot be a ref: refs supply files from Git")
        for v_index, value_file in enumerate(source.helm.value_files if source.helm else ()):
            name = value_file[1:].split("/", 1)[0] if value_file.startswith("$") else ""
            if value_file.startswith("$") and name not in refs:
                r.problem(
                    f"spec.sources[{index}].helm.valueFiles[{v_index}]",
                    f'"{value_file}" refers to ${name}, but no source has ref: {name}',
                )
    if not any(source.renders for source in sources):
        r.problem("spec.sources", "every source is a ref only: add a source with a path or chart to render")
    return (sources[0] if sources else Source(repo_url="")), tuple(sources)


def _read_source(r: FieldReader, obj: dict[str, Any], prefix: str) -> Source:
    _refuse_unknown(r, obj, _SOURCE_FIELDS | {"plugin"}, prefix, "a source")
    repo_url = r.string(obj, "repoURL", f"{prefix}.repoURL")
    if not repo_url.strip():
        r.problem(f"{prefix}.repoURL", "required: the Git repository URL, like https://github.com/org/repo")
    elif problem := repo_url_problem(_as_checked_url(repo_url)):
        r.problem(f"{prefix}.repoURL", problem)
    chart = r.string(obj, "chart", f"{prefix}.chart")
    path = r.string(obj, "path", f"{prefix}.path")
    ref = r.string(obj, "ref", f"{prefix}.ref")
    if not path and not chart and not ref:
        r.problem(f"{prefix}.path", 'required: a directory in the repository; use "." for the repository root')
    elif path and _path_escapes_repo(path):
        r.problem(f"{prefix}.path", f'"{path}" leaves the repository; give a directory inside it')
    if "plugin" in obj:
        r.problem(
            f"{prefix}.plugin",
            "config management plugins are not supported; use helm, kustomize or directory",
        )
    if chart:
        _check_chart_source(r, obj, repo_url, prefix)
    tools = [name for name in ("helm", "kustomize", "directory") if obj.get(name) is not None]
    if len(tools) > 1:
        r.problem(prefix, f"set at most one of helm, kustomize, directory (found {', '.join(tools)})")
    helm = r.mapping(obj, "helm", f"{prefix}.helm")
    kustomize = r.mapping(obj, "kustomize", f"{prefix}.kustomize")
    directory = r.mapping(obj, "directory", f"{prefix}.directory")
    target_revision = r.string(obj, "targetRevision", f"{prefix}.targetRevision") or "HEAD"
    if not chart and (problem := revision_problem(target_revision)):  # chart versions are checked above
        r.problem(f"{prefix}.targetRevision", problem)
    return Source(
        repo_url=repo_url,
        path=path,
        target_revision=target_revision,
        chart=chart,
        helm=_read_helm(r, helm, f"{prefix}.helm") if helm is not None else None,
        kustomize=_read_kustomize(r, kustomize, f"{prefix}.kustomize") if kustomize is not None else None,
        directory=_read_directory(r, directory, f"{prefix}.directory") if directory is not None else None,
        ref=ref,
        name=r.string(obj, "name", f"{prefix}.name"),
    )


def _as_checked_url(repo_url: str) -> str:
    """An oci:// registry is checked like an https:// URL (host, credentials, leading "-"); its
    scheme itself is checked with the chart (`_check_chart_source`)."""
    return "https://" + repo_url[len("oci://"):] if repo_url.startswith("oci://") else repo_url


def _check_chart_source(r: FieldReader, obj: dict[str, Any], repo_url: str, prefix: str) -> None:
    """A chart from a Helm repository: an HTTP(S) repository or an oci:// registry, a version
    constraint Helm understands, and only Helm options."""
    from reconciler.core.chart_versions import is_valid_constraint

    if repo_url and not repo_url.startswith(("http://", "https://", "oci://")):
        r.problem(
            f"{prefix}.repoURL",
            f'"{repo_url}" is not a Helm repository: with chart, give an https:// chart repository '
            "or an oci:// registry (like oci://registry.example.com/charts)",
        )
    revision = r.string(obj, "targetRevision", f"{prefix}.targetRevision")
    if revision and not is_valid_constraint(revision):
        r.problem(
            f"{prefix}.targetRevision",
            f'"{revision}" is not a chart version or version constraint (like 1.2.3, 1.2.*, >=1.0 <2.0)',
        )
    for other in ("kustomize", "directory"):
        if obj.get(other) is not None:
            r.problem(f"{prefix}.{other}", "a chart from a Helm repository is rendered with Helm: use helm options")
