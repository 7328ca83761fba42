"""Parsing and validation of Application and AppProject manifests (`parse_manifests`,
`load_file`): every wrong field becomes a Problem naming the file, the field path and the
line, and all of them are reported together. The choices made where Argo CD leaves room are
listed in the package docstring (reconciler/model/__init__.py)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jq
import yaml

from reconciler.core.globs import glob_error, kind_pattern_error
from reconciler.model.errors import Problem, SpecError
from reconciler.model.parse_source import read_sources
from reconciler.model.project_roles import read_project_roles
from reconciler.model.sync_options import app_option_problem
from reconciler.model.types import (
    _DNS_LABEL,
    _DNS_SUBDOMAIN,
    API_VERSION,
    APPLICATION_KIND,
    DEFAULT_APP_NAMESPACE,
    DEFAULT_PROJECT,
    DEFAULT_REVISION_HISTORY_LIMIT,
    IN_CLUSTER_SERVER,
    MAX_DNS_SUBDOMAIN,
    MAX_TRACKED_APP_NAME,
    PROJECT_KIND,
    Application,
    AppProject,
    AutomatedPolicy,
    Backoff,
    Destination,
    GroupKind,
    OrphanedResourceKey,
    OrphanedResources,
    ProjectDestination,
    ResourceIgnoreDifferences,
    RetryPolicy,
    SyncPolicy,
    SyncWindow,
)
from reconciler.model.yaml_reader import (
    MAX_DOCUMENT_NODES,
    FieldReader,
    TooManyNodes,
    describe_value,
    record_node_lines,
)


def _check_header(r: FieldReader, doc: dict[str, Any], kind: str) -> None:
    if doc.get("apiVersion") != API_VERSION:
        found = doc.get("apiVersion")
        shown = f'"{found}"' if isinstance(found, str) else "nothing"
        r.problem("apiVersion", f"must be {API_VERSION} for kind {kind}, found {shown}")
    if doc.get("kind") != kind:
        r.problem("kind", f'must be "{kind}"')


def _read_metadata(r: FieldReader, doc: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    """metadata, its name and its namespace (defaulted to `argocd`)."""
    meta = r.mapping(doc, "metadata", "metadata")
    if meta is None:
        r.problem("metadata.name", "required: give the object a name")
        return {}, "", DEFAULT_APP_NAMESPACE
    name = r.string(meta, "name", "metadata.name")
    if not name:
        r.problem("metadata.name", "required: give the object a name")
    elif len(name) > MAX_DNS_SUBDOMAIN or not _DNS_SUBDOMAIN.fullmatch(name):
        r.problem(
            "metadata.name",
            f'"{name}" is not a valid name: use at most {MAX_DNS_SUBDOMAIN} lower-case letters, digits, '
            "'-' and '.', starting and ending with a letter or digit",
        )
    namespace = r.string(meta, "namespace", "metadata.namespace")
    if namespace and not _DNS_LABEL.fullmatch(namespace):
        r.problem("metadata.namespace", f'"{namespace}" is not a valid namespace name (a DNS-1123 label)')
    return meta, name, namespace or DEFAULT_APP_NAMESPACE


def _read_destination(r: FieldReader, spec: dict[str, Any]) -> Destination:
    obj = r.mapping(spec, "destination", "spec.destination")
    if obj is None:
        r.problem("spec.destination", f"required: give server (like {IN_CLUSTER_SERVER}) or name, and namespace")
        return Destination()
    dest = Destination(
        server=r.string(obj, "server", "spec.destination.server"),
        name=r.string(obj, "name", "spec.destination.name"),
        namespace=r.string(obj, "namespace", "spec.destination.namespace"),
    )
    if dest.server and dest.name:
        r.problem("spec.destination", "set server or name, not both: they name the same cluster")
    elif not dest.server and not dest.name:
        r.problem("spec.destination", f"set server (like {IN_CLUSTER_SERVER}) or name (like in-cluster)")
    if dest.namespace and not _DNS_LABEL.fullmatch(dest.namespace):
        r.problem(
            "spec.destination.namespace",
            f'"{dest.namespace}" is not a valid namespace name (a DNS-1123 label)',
        )
    return dest


def _read_retry(r: FieldReader, obj: dict[str, Any]) -> RetryPolicy:
    path = "spec.syncPolicy.retry"
    # Argo CD replaces the whole default policy with the block, so a missing limit is 0.
    limit = r.integer(obj, "limit", f"{path}.limit", 0)
    backoff_obj = r.mapping(obj, "backoff", f"{path}.backoff") or {}
    defaults = Backoff()
    factor: float = defaults.factor
    raw_factor = backoff_obj.get("factor")
    if raw_factor is not None:
        if isinstance(raw_factor, bool) or not isinstance(raw_factor, int):
            r.problem(
                f"{path}.backoff.factor",
                f"must be a whole number of at least 1, found {describe_value(raw_factor)}",
            )
        elif raw_factor < 1:
            r.problem(f"{path}.backoff.factor", f"must be at least 1 (found {raw_factor}); 2 doubles each wait")
        else:
            factor = float(raw_factor)
    backoff = Backoff(
        duration_seconds=r.duration(backoff_obj, "duration", f"{path}.backoff.duration", defaults.duration_seconds),
        factor=factor,
        max_duration_seconds=r.duration(
            backoff_obj, "maxDuration", f"{path}.backoff.maxDuration", defaults.max_duration_seconds
        ),
    )
    return RetryPolicy(limit=limit, backoff=backoff)


def _read_sync_policy(r: FieldReader, spec: dict[str, Any]) -> SyncPolicy:
    obj = r.mapping(spec, "syncPolicy", "spec.syncPolicy")
    if obj is None:
        return SyncPolicy()
    path = "spec.syncPolicy"
    automated = None
    # As in Argo CD, `automated:` with no value (null) leaves automated sync off; `{}` turns it on.
    auto_obj = r.mapping(obj, "automated", f"{path}.automated")
    if auto_obj is not None and r.boolean(auto_obj, "enabled", f"{path}.automated.enabled", True):
        automated = AutomatedPolicy(
            prune=r.boolean(auto_obj, "prune", f"{path}.automated.prune"),
            self_heal=r.boolean(auto_obj, "selfHeal", f"{path}.automated.selfHeal"),
            allow_empty=r.boolean(auto_obj, "allowEmpty", f"{path}.automated.allowEmpty"),
        )
    options = r.strings(obj, "syncOptions", f"{path}.syncOptions")
    for index, option in enumerate(options):
        problem = app_option_problem(option)
        if problem:
            r.problem(f"{path}.syncOptions[{index}]", problem)
    retry_obj = r.mapping(obj, "retry", f"{path}.retry")
    managed = r.mapping(obj, "managedNamespaceMetadata", f"{path}.managedNamespaceMetadata") or {}
    mpath = f"{path}.managedNamespaceMetadata"
    for key in managed:
        if key not in ("labels", "annotations"):
            r.problem(f"{mpath}.{key}", "is not supported; write labels and annotations only")
    return SyncPolicy(
        automated=automated,
        sync_options=options,
        namespace_labels=tuple(sorted(r.string_map(managed, "labels", f"{mpath}.labels").items())),
        namespace_annotations=tuple(sorted(r.string_map(managed, "annotations", f"{mpath}.annotations").items())),
        retry=_read_retry(r, retry_obj) if retry_obj is not None else None,
    )


def _read_ignore_differences(r: FieldReader, spec: dict[str, Any]) -> tuple[ResourceIgnoreDifferences, ...]:
    result = []
    entries = r.mappings(spec, "ignoreDifferences", "spec.ignoreDifferences", "group, kind and jsonPointers")
    for item, path in entries:
        kind = r.required_string(item, "kind", f"{path}.kind", 'the kind to ignore fields of, like Deployment (or "*")')
        pointers = r.strings(item, "jsonPointers", f"{path}.jsonPointers")
        for p_index, pointer in enumerate(pointers):
            if not pointer.startswith("/"):
                r.problem(f"{path}.jsonPointers[{p_index}]", f'"{pointer}" must start with "/", like /spec/replicas')
        expressions = r.strings(item, "jqPathExpressions", f"{path}.jqPathExpressions")
        for e_index, expression in enumerate(expressions):
            try:
                jq.compile(expression)
            except ValueError:
                r.problem(
                    f"{path}.jqPathExpressions[{e_index}]",
                    f'"{expression}" is not a valid jq path, like .spec.template.spec.containers[].image',
                )
        managers = r.strings(item, "managedFieldsManagers", f"{path}.managedFieldsManagers")
        if not (pointers or expressions or managers):
            r.problem(path, "ignores nothing: add jsonPointers, jqPathExpressions or managedFieldsManagers")
        result.append(
            ResourceIgnoreDifferences(
                group=r.string(item, "group", f"{path}.group"),
                kind=kind,
                name=r.string(item, "name", f"{path}.name"),
                namespace=r.string(item, "namespace", f"{path}.namespace"),
                json_pointers=pointers,
                jq_path_expressions=expressions,
                managed_fields_managers=managers,
            )
        )
    return tuple(result)


def _parse_application(r: FieldReader, doc: dict[str, Any]) -> Application:
    _check_header(r, doc, APPLICATION_KIND)
    meta, name, namespace = _read_metadata(r, doc)
    if len(name) > MAX_TRACKED_APP_NAME:
        r.problem(
            "metadata.name",
            f"at most {MAX_TRACKED_APP_NAME} characters for an Application (found {len(name)}): "
            "the name is written to the app.kubernetes.io/instance label of every resource",
        )
    spec = r.mapping(doc, "spec", "spec")
    if spec is None:
        r.problem("spec", "required: give source, destination and project")
        spec = {}
    history = r.integer(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", DEFAULT_REVISION_HISTORY_LIMIT)
    if history < 0:
        r.problem("spec.revisionHistoryLimit", f"must be 0 or more (found {history})")
    source, sources = read_sources(r, spec)
    app = Application(
        name=name,
        namespace=namespace,
        project=r.string(spec, "project", "spec.project") or DEFAULT_PROJECT,
        source=source,
        sources=sources,
        destination=_read_destination(r, spec),
        sync_policy=_read_sync_policy(r, spec),
        ignore_differences=_read_ignore_differences(r, spec),
        revision_history_limit=history,
        finalizers=r.strings(meta, "finalizers", "metadata.finalizers"),
        labels=r.string_map(meta, "labels", "metadata.labels"),
        annotations=r.string_map(meta, "annotations", "metadata.annotations"),
        manifest=copy.deepcopy(doc),
        source_file=r.file,
    )
    r.raise_if_any()
    return app


def parse_application(doc: dict[str, Any], source_file: str = "<stdin>") -> Application:
    """An Application from one parsed manifest; raises SpecError listing every problem.

    `spec.project` may be left out or empty: Argo CD reads that as the `default`
    project, and so does this. `metadata.namespace` defaults to `argocd`. Fields this
    system does not know are kept in `Application.manifest`, never an error.
    """
    r = FieldReader(source_file)
    if not isinstance(doc, dict):
        r.problem("", f"an Application must be a mapping of fields, found {describe_value(doc)}")
        r.raise_if_any()
    return _parse_application(r, doc)


# --------------------------------------------------------------------------------------
# AppProject
# --------------------------------------------------------------------------------------


def _check_glob(r: FieldReader, pattern: str, path: str) -> None:
    error = glob_error(pattern.removeprefix("!"))
    if error:
        r.problem(path, f'"{pattern}" is not a valid pattern: {error}')


def _check_kind_pattern(r: FieldReader, pattern: str, path: str) -> None:
    error = kind_pattern_error(pattern)
    if error:
        r.problem(path, f'"{pattern}" is not a valid pattern: {error}')


def _read_group_kinds(r: FieldReader, spec: dict[str, Any], key: str) -> tuple[GroupKind, ...]:
    result = []
    for index, item in enumerate(r.items(spec, key, f"spec.{key}")):
        path = f"spec.{key}[{index}]"
        if not isinstance(item, dict):
            r.problem(path, f'must be a mapping like {{group: "apps", kind: Deployment}}, found {describe_value(item)}')
            continue
        kind = r.string(item, "kind", f"{path}.kind")
        if not kind:
            r.problem(f"{path}.kind", 'required: a kind like Deployment, or "*" for every kind')
        group = r.string(item, "group", f"{path}.group")
        _check_kind_pattern(r, group, f"{path}.group")
        _check_kind_pattern(r, kind, f"{path}.kind")
        result.append(GroupKind(group=group, kind=kind))
    return tuple(result)


def _read_project_destinations(r: FieldReader, spec: dict[str, Any]) -> tuple[ProjectDestination, ...]:
    result = []
    for index, item in enumerate(r.items(spec, "destinations", "spec.destinations")):
        path = f"spec.destinations[{index}]"
        if not isinstance(item, dict):
            r.problem(path, f'must be a mapping like {{server: "*", namespace: "*"}}, found {describe_value(item)}')
            continue
        dest = ProjectDestination(
            server=r.string(item, "server", f"{path}.server"),
            name=r.string(item, "name", f"{path}.name"),
            namespace=r.string(item, "namespace", f"{path}.namespace"),
        )
        if not dest.server and not dest.name:
            r.problem(path, 'set server or name (a pattern; "*" allows every cluster)')
        if dest.namespace == "!*":
            r.problem(f"{path}.namespace", '"!*" denies every namespace; remove the entry instead')
        for key in ("server", "name", "namespace"):
            _check_glob(r, getattr(dest, key), f"{path}.{key}")
        result.append(dest)
    return tuple(result)


# AppProject fields this system does not enforce: refused by name rather than ignored.
_UNSUPPORTED_PROJECT_FIELDS = {
    "signatureKeys": "commit signature verification is not supported; remove spec.signatureKeys",
    "sourceNamespaces": "Applications in any namespace are not supported; remove spec.sourceNamespaces",
    "destinationServiceAccounts": "impersonation is not supported; remove spec.destinationServiceAccounts",
}


def _read_orphaned_resources(r: FieldReader, spec: dict[str, Any]) -> OrphanedResources | None:
    if "orphanedResources" not in spec or spec["orphanedResources"] is None:
        return None
    settings = r.mapping(spec, "orphanedResources", "spec.orphanedResources") or {}
    ignore = []
    for index, item in enumerate(r.items(settings, "ignore", "spec.orphanedResources.ignore")):
        path = f"spec.orphanedResources.ignore[{index}]"
        if not isinstance(item, dict):
            r.problem(path, f"must be a mapping with group, kind and name (globs), found {describe_value(item)}")
            continue
        unknown = sorted(set(item) - {"group", "kind", "name"})
        if unknown:
            r.problem(f"{path}.{unknown[0]}", "unknown field: an entry has group, kind and name (globs)")
        key = OrphanedResourceKey(group=r.string(item, "group", f"{path}.group"),
                                  kind=r.string(item, "kind", f"{path}.kind"),
                                  name=r.string(item, "name", f"{path}.name"))
        for attribute in ("group", "kind", "name"):
            _check_glob(r, getattr(key, attribute), f"{path}.{attribute}")
        ignore.append(key)
    unknown = sorted(set(settings) - {"warn", "ignore"})
    if unknown:
        r.problem(f"spec.orphanedResources.{unknown[0]}", "unknown field: orphanedResources has warn and ignore")
    return OrphanedResources(warn=r.boolean(settings, "warn", "spec.orphanedResources.warn"), ignore=tuple(ignore))


def _read_sync_windows(r: FieldReader, spec: dict[str, Any]) -> tuple[SyncWindow, ...]:
    from reconciler.model.sync_windows import read_sync_window

    windows = []
    for index, item in enumerate(r.items(spec, "syncWindows", "spec.syncWindows")):
        window = read_sync_window(r, item, f"spec.syncWindows[{index}]")
        if window is not None:
            windows.append(window)
    return tuple(windows)


def _parse_project(r: FieldReader, doc: dict[str, Any]) -> AppProject:
    _check_header(r, doc, PROJECT_KIND)
    _, name, namespace = _read_metadata(r, doc)
    spec = r.mapping(doc, "spec", "spec") or {}
    for field_name, why in _UNSUPPORTED_PROJECT_FIELDS.items():
        if spec.get(field_name):
            r.problem(f"spec.{field_name}", why)
    repos = r.strings(spec, "sourceRepos", "spec.sourceRepos")
    for index, repo in enumerate(repos):
        _check_glob(r, repo, f"spec.sourceRepos[{index}]")
    project = AppProject(
        name=name,
        namespace=namespace,
        source_repos=repos,
        destinations=_read_project_destinations(r, spec),
        cluster_resource_whitelist=_read_group_kinds(r, spec, "clusterResourceWhitelist"),
        cluster_resource_blacklist=_read_group_kinds(r, spec, "clusterResourceBlacklist"),
        namespace_resource_whitelist=_read_group_kinds(r, spec, "namespaceResourceWhitelist"),
        namespace_resource_blacklist=_read_group_kinds(r, spec, "namespaceResourceBlacklist"),
        sync_windows=_read_sync_windows(r, spec),
        roles=read_project_roles(r, spec, name),
        orphaned_resources=_read_orphaned_resources(r, spec),
        permit_only_project_scoped_clusters=r.boolean(
            spec, "permitOnlyProjectScopedClusters", "spec.permitOnlyProjectScopedClusters"),
        manifest=copy.deepcopy(doc),
        source_file=r.file,
    )
    r.raise_if_any()
    return project


def parse_project(doc: dict[str, Any], source_file: str = "<stdin>") -> AppProject:
    """An AppProject from one parsed manifest; raises SpecError listing every problem.

    Fields beyond sourceRepos, destinations, the resource lists, syncWindows and roles that
    change behaviour (signatureKeys, ...) are refused by name; others
    (description) are kept in `AppProject.manifest`.
    """
    r = FieldReader(source_file)
    if not isinstance(doc, dict):
        r.problem("", f"an AppProject must be a mapping of fields, found {describe_value(doc)}")
        r.raise_if_any()
    return _parse_project(r, doc)


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------

def _parsers() -> dict[str, Any]:
    from reconciler.model.parse_appset import parse_appset_document, parse_cluster_secret_document

    return {
        APPLICATION_KIND: _parse_application,
        PROJECT_KIND: _parse_project,
        "ApplicationSet": parse_appset_document,
        "Secret": parse_cluster_secret_document,  # Argo CD cluster Secrets only (checked by their label)
    }


_KINDS_HERE = f"{APPLICATION_KIND}, {PROJECT_KIND}, ApplicationSet ({API_VERSION}) and cluster Secrets (v1)"


def parse_manifests(text: str, source_file: str = "<stdin>") -> list[Any]:
    """Every Application, AppProject, ApplicationSet and cluster Secret in a multi-document
    YAML text, in file order.

    Empty documents are skipped. Problems in all documents are collected and raised
    together as one SpecError; each names the file and, where known, the line.
    """
    loader = yaml.SafeLoader(text)
    parsers = _parsers()
    results: list[Any] = []
    problems: list[Problem] = []
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            index += 1
            if node is None:
                continue
            lines: dict[str, int] = {"": node.start_mark.line + 1}
            try:
                record_node_lines(node, "", lines, [MAX_DOCUMENT_NODES])
            except TooManyNodes:
                problems.append(
                    Problem(
                        source_file,
                        "",
                        f"document {index} expands to more than {MAX_DOCUMENT_NODES} values "
                        "(nested YAML aliases); write it out without anchors",
                        lines[""],
                    )
                )
                continue
            doc = loader.construct_document(node)
            if doc is None:
                continue
            r = FieldReader(source_file, lines)
            if not isinstance(doc, dict):
                r.problem("", f"document {index} must be a mapping of fields, found {describe_value(doc)}")
                problems.extend(r.problems)
                continue
            parse = parsers.get(doc.get("kind"))  # type: ignore[arg-type]
            if parse is None or (doc.get("kind") == "Secret" and not _labelled_cluster(doc)):
                kind = doc.get("kind")
                shown = f'"{kind}"' if isinstance(kind, str) else "missing"
                hint = (" (a Secret belongs here only as an Argo CD cluster Secret, labelled "
                        "argocd.argoproj.io/secret-type: cluster)" if kind == "Secret" else "")
                r.problem("kind", f"document {index} has kind {shown}; only {_KINDS_HERE} belong here{hint}")
                problems.extend(r.problems)
                continue
            try:
                results.append(parse(r, doc))
            except SpecError as exc:
                problems.extend(exc.problems)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(
            Problem(source_file, "", f"not valid YAML: {reason}", mark.line + 1 if mark is not None else None)
        )
    finally:
        loader.dispose()
    if problems:
        raise SpecError(problems)
    return results


def _labelled_cluster(doc: dict[str, Any]) -> bool:
    from reconciler.model.parse_appset import is_cluster_secret

    return is_cluster_secret(doc)


def load_file(path: str | Path) -> list[Any]:
    """`parse_manifests` on a file; an unreadable file is a SpecError naming it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError([Problem(str(path), "", f"cannot read the file: {reason}")]) from exc
    return parse_manifests(text, str(path))
