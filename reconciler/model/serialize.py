"""Back to manifests: the model written over a copy of the manifest it came from."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.core.durations import format_duration, parse_duration
from reconciler.model.parse import parse_application
from reconciler.model.types import (
    API_VERSION,
    APPLICATION_KIND,
    DEFAULT_APP_NAMESPACE,
    DEFAULT_PROJECT,
    DEFAULT_REVISION_HISTORY_LIMIT,
    PROJECT_KIND,
    Application,
    AppProject,
    Backoff,
    ResourceIgnoreDifferences,
    Source,
    SyncPolicy,
)

# --------------------------------------------------------------------------------------
# Back to manifests
# --------------------------------------------------------------------------------------
# The model is written over a copy of the manifest it came from, so unknown fields and
# the user's spelling of unchanged values survive; a field that is absent and at its
# default stays absent.


def _put(target: dict[str, Any], key: str, value: Any, default: Any) -> None:
    if key in target or value != default:
        target[key] = value


def _section(target: dict[str, Any], key: str) -> dict[str, Any]:
    current = target.get(key)
    if not isinstance(current, dict):
        current = {}
        target[key] = current
    return current


def _drop(target: dict[str, Any], key: str) -> None:
    """Remove a section the model no longer has; a written `key: null` already says so."""
    if target.get(key) is not None:
        del target[key]


def _put_duration(target: dict[str, Any], key: str, seconds: float, default: float) -> None:
    written = target.get(key)
    try:
        if written not in (None, "") and parse_duration(written) == seconds:
            return
    except ValueError:
        pass
    if key in target or seconds != default:
        target[key] = format_duration(seconds)


def _list_item(original: Any, index: int) -> dict[str, Any]:
    if isinstance(original, list) and index < len(original) and isinstance(original[index], dict):
        return original[index]
    return {}


def _source_manifest(source: Source, out: dict[str, Any]) -> None:
    out["repoURL"] = source.repo_url
    _put(out, "path", source.path, "")
    if out.get("targetRevision") not in (None, "") or source.target_revision != "HEAD":
        out["targetRevision"] = source.target_revision
    _put(out, "chart", source.chart, "")
    _put(out, "ref", source.ref, "")
    _put(out, "name", source.name, "")
    if source.helm is None:
        _drop(out, "helm")
    else:
        helm, h = source.helm, _section(out, "helm")
        _put(h, "valueFiles", list(helm.value_files), [])
        _put(h, "values", helm.values, "")
        if helm.values_object is None:
            _drop(h, "valuesObject")
        else:
            h["valuesObject"] = copy.deepcopy(helm.values_object)
        params = []
        for index, param in enumerate(helm.parameters):
            item = _list_item(h.get("parameters"), index)
            item.update(name=param.name, value=param.value)
            _put(item, "forceString", param.force_string, False)
            params.append(item)
        _put(h, "parameters", params, [])
        files = []
        for index, file_parameter in enumerate(helm.file_parameters):
            item = _list_item(h.get("fileParameters"), index)
            item.update(name=file_parameter.name, path=file_parameter.path)
            files.append(item)
        _put(h, "fileParameters", files, [])
        _put(h, "releaseName", helm.release_name, "")
        _put(h, "ignoreMissingValueFiles", helm.ignore_missing_value_files, False)
        _put(h, "version", helm.version, "")
        _put(h, "skipCrds", helm.skip_crds, False)
        _put(h, "skipSchemaValidation", helm.skip_schema_validation, False)
        _put(h, "passCredentials", helm.pass_credentials, False)
        _put(h, "kubeVersion", helm.kube_version, "")
        _put(h, "apiVersions", list(helm.api_versions), [])
        _put(h, "namespace", helm.namespace, "")
        _put(h, "skipTests", helm.skip_tests, False)
    if source.kustomize is None:
        _drop(out, "kustomize")
    else:
        kustomize, k = source.kustomize, _section(out, "kustomize")
        _put(k, "namePrefix", kustomize.name_prefix, "")
        _put(k, "nameSuffix", kustomize.name_suffix, "")
        _put(k, "images", list(kustomize.images), [])
        _put(k, "commonLabels", dict(kustomize.common_labels), {})
        _put(k, "namespace", kustomize.namespace, "")
        _put(k, "commonAnnotations", dict(kustomize.common_annotations), {})
        _put(k, "forceCommonLabels", kustomize.force_common_labels, False)
        _put(k, "forceCommonAnnotations", kustomize.force_common_annotations, False)
        _put(k, "commonAnnotationsEnvsubst", kustomize.common_annotations_envsubst, False)
        _put(k, "labelWithoutSelector", kustomize.label_without_selector, False)
        _put(k, "replicas", [{"name": r.name, "count": r.count} for r in kustomize.replicas], [])
        _put(k, "patches", [copy.deepcopy(p) for p in kustomize.patches], [])
        _put(k, "components", list(kustomize.components), [])
    if source.directory is None:
        _drop(out, "directory")
    else:
        directory, d = source.directory, _section(out, "directory")
        _put(d, "recurse", directory.recurse, False)
        _put(d, "include", directory.include, "")
        _put(d, "exclude", directory.exclude, "")
        if directory.jsonnet is None:
            _drop(d, "jsonnet")
        else:
            options, j = directory.jsonnet, _section(d, "jsonnet")
            for key, variables in (("extVars", options.ext_vars), ("tlas", options.tlas)):
                items = []
                for index, variable in enumerate(variables):
                    item = _list_item(j.get(key), index)
                    item.update(name=variable.name, value=variable.value)
                    _put(item, "code", variable.code, False)
                    items.append(item)
                _put(j, key, items, [])
            _put(j, "libs", list(options.libs), [])


def _sync_policy_manifest(policy: SyncPolicy, spec: dict[str, Any]) -> None:
    if policy == SyncPolicy() and not isinstance(spec.get("syncPolicy"), dict):
        return
    out = _section(spec, "syncPolicy")
    if policy.automated is None:
        auto = out.get("automated")
        if isinstance(auto, dict) and auto.get("enabled") is not False:
            del out["automated"]
    else:
        auto = _section(out, "automated")
        if auto.get("enabled") is False:
            del auto["enabled"]
        _put(auto, "prune", policy.automated.prune, False)
        _put(auto, "selfHeal", policy.automated.self_heal, False)
        _put(auto, "allowEmpty", policy.automated.allow_empty, False)
    _put(out, "syncOptions", list(policy.sync_options), [])
    if policy.retry is None:
        _drop(out, "retry")
        return
    retry = _section(out, "retry")
    _put(retry, "limit", policy.retry.limit, 0)
    backoff, defaults = policy.retry.backoff, Backoff()
    if backoff == defaults and not isinstance(retry.get("backoff"), dict):
        return
    b = _section(retry, "backoff")
    _put_duration(b, "duration", backoff.duration_seconds, defaults.duration_seconds)
    factor = int(backoff.factor) if float(backoff.factor).is_integer() else backoff.factor
    _put(b, "factor", factor, int(defaults.factor))
    _put_duration(b, "maxDuration", backoff.max_duration_seconds, defaults.max_duration_seconds)


def _ignore_differences_manifest(entries: tuple[ResourceIgnoreDifferences, ...], spec: dict[str, Any]) -> None:
    original = spec.get("ignoreDifferences")
    result = []
    for index, entry in enumerate(entries):
        item = _list_item(original, index)
        _put(item, "group", entry.group, "")
        item["kind"] = entry.kind
        _put(item, "name", entry.name, "")
        _put(item, "namespace", entry.namespace, "")
        _put(item, "jsonPointers", list(entry.json_pointers), [])
        _put(item, "jqPathExpressions", list(entry.jq_path_expressions), [])
        _put(item, "managedFieldsManagers", list(entry.managed_fields_managers), [])
        result.append(item)
    _put(spec, "ignoreDifferences", result, [])


def application_to_manifest(app: Application) -> dict[str, Any]:
    """The Application as an Argo CD manifest: its original manifest (unknown fields
    kept) with every modelled field set from `app`. `parse_application` of the result
    equals `app`."""
    doc = copy.deepcopy(app.manifest) if app.manifest else {}
    doc["apiVersion"] = API_VERSION
    doc["kind"] = APPLICATION_KIND
    meta = _section(doc, "metadata")
    meta["name"] = app.name
    _put(meta, "namespace", app.namespace, DEFAULT_APP_NAMESPACE)
    _put(meta, "finalizers", list(app.finalizers), [])
    _put(meta, "labels", dict(app.labels), {})
    _put(meta, "annotations", dict(app.annotations), {})
    spec = _section(doc, "spec")
    if spec.get("project") not in (None, "") or app.project != DEFAULT_PROJECT:
        spec["project"] = app.project
    if app.sources:
        original = spec.get("sources")
        written = []
        for index, source in enumerate(app.sources):
            item = copy.deepcopy(_list_item(original, index))
            _source_manifest(source, item)
            written.append(item)
        spec["sources"] = written
        spec.pop("source", None)
    else:
        _source_manifest(app.source, _section(spec, "source"))
        spec.pop("sources", None)
    destination = _section(spec, "destination")
    for key in ("server", "name", "namespace"):
        _put(destination, key, getattr(app.destination, key), "")
    _sync_policy_manifest(app.sync_policy, spec)
    _ignore_differences_manifest(app.ignore_differences, spec)
    _put(spec, "revisionHistoryLimit", app.revision_history_limit, DEFAULT_REVISION_HISTORY_LIMIT)
    return doc


def project_to_manifest(project: AppProject) -> dict[str, Any]:
    """The AppProject as an Argo CD manifest, its unknown fields (roles, windows...) kept."""
    doc = copy.deepcopy(project.manifest) if project.manifest else {}
    doc["apiVersion"] = API_VERSION
    doc["kind"] = PROJECT_KIND
    meta = _section(doc, "metadata")
    meta["name"] = project.name
    _put(meta, "namespace", project.namespace, DEFAULT_APP_NAMESPACE)
    spec = _section(doc, "spec")
    _put(spec, "sourceRepos", list(project.source_repos), [])
    destinations = []
    for index, dest in enumerate(project.destinations):
        item = _list_item(spec.get("destinations"), index)
        for key in ("server", "name", "namespace"):
            _put(item, key, getattr(dest, key), "")
        destinations.append(item)
    _put(spec, "destinations", destinations, [])
    for key, kinds in (
        ("clusterResourceWhitelist", project.cluster_resource_whitelist),
        ("clusterResourceBlacklist", project.cluster_resource_blacklist),
        ("namespaceResourceWhitelist", project.namespace_resource_whitelist),
        ("namespaceResourceBlacklist", project.namespace_resource_blacklist),
    ):
        _put(spec, key, [{"group": gk.group, "kind": gk.kind} for gk in kinds], [])
    roles = []
    for role in project.roles:
        item: dict[str, Any] = {"name": role.name}
        _put(item, "description", role.description, "")
        _put(item, "policies", list(role.policies), [])
        _put(item, "groups", list(role.groups), [])
        roles.append(item)
    _put(spec, "roles", roles, [])
    return doc


def recorded_source(app: Application) -> dict[str, Any]:
    """What history records of the app's source: its spec.source, or for a multi-source app
    `{"sources": [...]}`, so a rollback restores every source."""
    spec = application_to_manifest(app).get("spec", {})
    if app.sources:
        return {"sources": copy.deepcopy(spec.get("sources") or [])}
    return copy.deepcopy(spec.get("source") or {})


def with_source(app: Application, source: dict[str, Any]) -> Application:
    """`app` syncing another source (a rollback's recorded one, see `recorded_source`);
    SpecError if it is invalid."""
    manifest = application_to_manifest(app)
    spec = {key: value for key, value in manifest.get("spec", {}).items() if key not in ("source", "sources")}
    if set(source) == {"sources"}:
        spec["sources"] = source["sources"]
    else:
        spec["source"] = source
    return parse_application({**manifest, "spec": spec}, source_file=f"history of application {app.name}")
