"""Parsing of ApplicationSet manifests and Argo CD cluster Secrets: every problem names the file,
the field path and the line, and a field this system does not handle is refused by name.

Choices where Argo CD leaves room:
- `goTemplateOptions` accepts Go's `missingkey=` options only (`error`, `default`, `invalid`,
  `zero`: with parameter maps the last three print `<no value>` alike).
- `ignoreApplicationDifferences` is refused: generated Applications are written by the set
  alone here (nothing else edits them), so there is nothing to ignore.
- A cluster Secret's `config` is read for `bearerToken`, `username`/`password` and
  `tlsClientConfig`; exec, AWS and proxy settings are refused by name.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from typing import Any

from reconciler.model.appset_generators import check_generator, check_selector
from reconciler.model.appset_types import (
    APPLICATIONS_SYNC_POLICIES,
    CLUSTER_SECRET_LABEL,
    CLUSTER_SECRET_TYPE,
    ApplicationSet,
    ClusterSecret,
    MatchExpression,
    RollingSyncStep,
)
from reconciler.model.types import _DNS_LABEL, _DNS_SUBDOMAIN, API_VERSION, DEFAULT_APP_NAMESPACE, MAX_DNS_SUBDOMAIN
from reconciler.model.yaml_reader import FieldReader, describe_value

_SPEC_FIELDS = {
    "generators",
    "template",
    "templatePatch",
    "goTemplate",
    "goTemplateOptions",
    "syncPolicy",
    "strategy",
    "applyNestedSelectors",
    "preservedFields",
    "ignoreApplicationDifferences",
}
_TEMPLATE_METADATA = {"name", "namespace", "labels", "annotations", "finalizers"}
_GO_OPTIONS = ("missingkey=error", "missingkey=default", "missingkey=invalid", "missingkey=zero")


def _metadata(r: FieldReader, doc: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    meta = r.mapping(doc, "metadata", "metadata") or {}
    name = r.string(meta, "name", "metadata.name")
    if not name:
        r.problem("metadata.name", "required: give the object a name")
    elif len(name) > MAX_DNS_SUBDOMAIN or not _DNS_SUBDOMAIN.fullmatch(name):
        r.problem("metadata.name", f'"{name}" is not a valid name: use lower-case letters, digits, "-" and "."')
    namespace = r.string(meta, "namespace", "metadata.namespace")
    if namespace and not _DNS_LABEL.fullmatch(namespace):
        r.problem("metadata.namespace", f'"{namespace}" is not a valid namespace name (a DNS-1123 label)')
    return meta, name, namespace or DEFAULT_APP_NAMESPACE


def _read_template(r: FieldReader, spec: dict[str, Any], templated_patch: bool) -> dict[str, Any]:
    template = r.mapping(spec, "template", "spec.template")
    if template is None:
        r.problem("spec.template", "required: the Application every parameter set renders (metadata and spec)")
        return {}
    for key in template:
        if key not in ("metadata", "spec"):
            r.problem(f"spec.template.{key}", "is not a template field; write metadata and spec")
    meta = r.mapping(template, "metadata", "spec.template.metadata") or {}
    for key in meta:
        if key not in _TEMPLATE_METADATA:
            r.problem(
                f"spec.template.metadata.{key}", f"is not handled; write {', '.join(sorted(_TEMPLATE_METADATA))}"
            )
    if not meta.get("name") and not templated_patch:
        r.problem("spec.template.metadata.name", "required: each generated Application needs a name, like '{{name}}'")
    r.mapping(template, "spec", "spec.template.spec")
    return copy.deepcopy(template)


def _read_sync_policy(r: FieldReader, spec: dict[str, Any]) -> tuple[str, bool]:
    policy = r.mapping(spec, "syncPolicy", "spec.syncPolicy") or {}
    for key in policy:
        if key not in ("applicationsSync", "preserveResourcesOnDeletion"):
            r.problem(
                f"spec.syncPolicy.{key}", "is not handled; write applicationsSync and preserveResourcesOnDeletion"
            )
    sync = r.string(policy, "applicationsSync", "spec.syncPolicy.applicationsSync") or "sync"
    if sync not in APPLICATIONS_SYNC_POLICIES:
        r.problem(
            "spec.syncPolicy.applicationsSync", f'"{sync}" must be one of {", ".join(APPLICATIONS_SYNC_POLICIES)}'
        )
    preserve = r.boolean(policy, "preserveResourcesOnDeletion", "spec.syncPolicy.preserveResourcesOnDeletion")
    return sync, preserve


def _read_strategy(r: FieldReader, spec: dict[str, Any]) -> tuple[RollingSyncStep, ...] | None:
    strategy = r.mapping(spec, "strategy", "spec.strategy")
    if strategy is None:
        return None
    for key in strategy:
        if key not in ("type", "rollingSync"):
            r.problem(f"spec.strategy.{key}", "is not handled; write type and rollingSync")
    kind = r.string(strategy, "type", "spec.strategy.type") or "AllAtOnce"
    if kind == "AllAtOnce":
        return None
    if kind != "RollingSync":
        r.problem("spec.strategy.type", f'"{kind}" must be AllAtOnce or RollingSync')
        return None
    rolling = r.mapping(strategy, "rollingSync", "spec.strategy.rollingSync") or {}
    steps = []
    for item, path in r.mappings(rolling, "steps", "spec.strategy.rollingSync.steps", "matchExpressions"):
        expressions = []
        for key in item:
            if key not in ("matchExpressions", "maxUpdate"):
                r.problem(f"{path}.{key}", "is not handled; write matchExpressions and maxUpdate")
        check_selector(r, {"matchExpressions": item.get("matchExpressions") or []}, path)
        for expression in item.get("matchExpressions") or []:
            if isinstance(expression, dict):
                expressions.append(
                    MatchExpression(
                        key=str(expression.get("key", "")),
                        operator=str(expression.get("operator", "")),
                        values=tuple(str(v) for v in expression.get("values") or ()),
                    )
                )
        steps.append(RollingSyncStep(tuple(expressions), _max_update(r, item.get("maxUpdate"), f"{path}.maxUpdate")))
    if not steps:
        r.problem("spec.strategy.rollingSync.steps", "required: at least one step with matchExpressions")
    return tuple(steps)


def _max_update(r: FieldReader, value: Any, path: str) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return value
    r.problem(path, f"must be a whole number or a percentage like 25%, found {describe_value(value)}")
    return ""


def _read_preserved(r: FieldReader, spec: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    preserved = r.mapping(spec, "preservedFields", "spec.preservedFields") or {}
    for key in preserved:
        if key not in ("annotations", "labels"):
            r.problem(f"spec.preservedFields.{key}", "is not handled; write annotations and labels")
    return (
        r.strings(preserved, "annotations", "spec.preservedFields.annotations"),
        r.strings(preserved, "labels", "spec.preservedFields.labels"),
    )


def parse_appset_document(r: FieldReader, doc: dict[str, Any]) -> ApplicationSet:
    if doc.get("apiVersion") != API_VERSION:
        r.problem("apiVersion", f"must be {API_VERSION} for kind ApplicationSet")
    meta, name, namespace = _metadata(r, doc)
    spec = r.mapping(doc, "spec", "spec")
    if spec is None:
        r.problem("spec", "required: give generators and template")
        spec = {}
    for key in spec:
        if key == "ignoreApplicationDifferences":
            r.problem(
                "spec.ignoreApplicationDifferences",
                "is not supported: generated Applications are written by their set alone; remove it",
            )
        elif key not in _SPEC_FIELDS:
            r.problem(
                f"spec.{key}",
                f"is not an ApplicationSet field this system handles ({', '.join(sorted(_SPEC_FIELDS))})",
            )
    generators = r.items(spec, "generators", "spec.generators")
    if not generators:
        r.problem("spec.generators", "required: at least one generator (list, clusters, git, matrix, merge, ...)")
    for index, generator in enumerate(generators):
        check_generator(r, generator, f"spec.generators[{index}]")
    options = r.strings(spec, "goTemplateOptions", "spec.goTemplateOptions")
    for index, option in enumerate(options):
        if option not in _GO_OPTIONS:
            r.problem(
                f"spec.goTemplateOptions[{index}]", f'"{option}" is not handled; use one of {", ".join(_GO_OPTIONS)}'
            )
    patch = r.string(spec, "templatePatch", "spec.templatePatch")
    go_template = r.boolean(spec, "goTemplate", "spec.goTemplate")
    if patch and not go_template:
        r.problem("spec.templatePatch", "needs goTemplate: true (as in Argo CD)")
    sync, preserve = _read_sync_policy(r, spec)
    annotations_kept, labels_kept = _read_preserved(r, spec)
    appset = ApplicationSet(
        name=name,
        namespace=namespace,
        generators=tuple(copy.deepcopy(g) for g in generators if isinstance(g, dict)),
        template=_read_template(r, spec, bool(patch)),
        template_patch=patch,
        go_template=go_template,
        go_template_options=options,
        applications_sync=sync,
        preserve_resources_on_deletion=preserve,
        rolling_sync=_read_strategy(r, spec),
        apply_nested_selectors=r.boolean(spec, "applyNestedSelectors", "spec.applyNestedSelectors"),
        preserved_annotations=annotations_kept,
        preserved_labels=labels_kept,
        labels=r.string_map(meta, "labels", "metadata.labels"),
        annotations=r.string_map(meta, "annotations", "metadata.annotations"),
        manifest=copy.deepcopy(doc),
        source_file=r.file,
    )
    r.raise_if_any()
    return appset


def parse_appset(doc: dict[str, Any], source_file: str = "<stdin>") -> ApplicationSet:
    r = FieldReader(source_file)
    if not isinstance(doc, dict):
        r.problem("", f"an ApplicationSet must be a mapping of fields, found {describe_value(doc)}")
        r.raise_if_any()
    return parse_appset_document(r, doc)


# --------------------------------------------------------------------------------------
# Cluster Secrets
# --------------------------------------------------------------------------------------

_CLUSTER_KEYS = {"name", "server", "config", "namespaces", "clusterResources", "project"}
_CONFIG_FIELDS = {"bearerToken", "username", "password", "tlsClientConfig"}
_TLS_FIELDS = {"insecure", "caData", "certData", "keyData", "serverName"}


def _secret_data(r: FieldReader, doc: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    data = r.mapping(doc, "data", "data") or {}
    for key, raw in data.items():
        try:
            values[key] = base64.b64decode(str(raw), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            r.problem(f"data.{key}", "is not base64 of UTF-8 text; put plain text under stringData instead")
    for key, raw in (r.mapping(doc, "stringData", "stringData") or {}).items():
        if not isinstance(raw, str):
            r.problem(f"stringData.{key}", f"must be a string, found {describe_value(raw)}")
            continue
        values[key] = raw
    return values


def _cluster_config(r: FieldReader, raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        config = json.loads(raw)
    except ValueError as exc:
        # The message names where, never the text: it holds credentials.
        r.problem("config", f"is not valid JSON ({exc.msg} at line {exc.lineno}); write it as Argo CD does")
        return {}
    if not isinstance(config, dict):
        r.problem("config", 'must be a JSON object like {"bearerToken": "..."}')
        return {}
    for key in config:
        if key not in _CONFIG_FIELDS:
            r.problem(
                f"config.{key}",
                f"is not handled; use {', '.join(sorted(_CONFIG_FIELDS))} (or a kubeconfig context for the server)",
            )
    tls = config.get("tlsClientConfig") or {}
    if not isinstance(tls, dict):
        r.problem("config.tlsClientConfig", "must be a JSON object")
    else:
        for key in tls:
            if key not in _TLS_FIELDS:
                r.problem(f"config.tlsClientConfig.{key}", f"is not handled; use {', '.join(sorted(_TLS_FIELDS))}")
    return config


def is_cluster_secret(doc: dict[str, Any]) -> bool:
    labels = ((doc.get("metadata") or {}).get("labels") or {}) if isinstance(doc.get("metadata"), dict) else {}
    return isinstance(labels, dict) and labels.get(CLUSTER_SECRET_LABEL) == CLUSTER_SECRET_TYPE


def parse_cluster_secret_document(r: FieldReader, doc: dict[str, Any]) -> ClusterSecret:
    if doc.get("apiVersion") != "v1":
        r.problem("apiVersion", "must be v1 for kind Secret")
    meta, secret_name, namespace = _metadata(r, doc)
    labels = r.string_map(meta, "labels", "metadata.labels")
    if labels.get(CLUSTER_SECRET_LABEL) != CLUSTER_SECRET_TYPE:
        r.problem(
            "metadata.labels", f"a cluster Secret carries the label {CLUSTER_SECRET_LABEL}: {CLUSTER_SECRET_TYPE}"
        )
    data = _secret_data(r, doc)
    for key in data:
        if key not in _CLUSTER_KEYS:
            r.problem(f"data.{key}", f"is not handled in a cluster Secret; use {', '.join(sorted(_CLUSTER_KEYS))}")
    server = data.get("server", "").strip()
    if not server.startswith(("https://", "http://")):
        r.problem("data.server", "required: the cluster's API server URL, like https://kubernetes.default.svc")
    name = data.get("name", "").strip() or server
    cluster = ClusterSecret(
        name=name,
        server=server.rstrip("/"),
        secret_name=secret_name,
        namespace=namespace,
        labels=labels,
        annotations=r.string_map(meta, "annotations", "metadata.annotations"),
        config=_cluster_config(r, data.get("config", "")),
        namespaces=tuple(n.strip() for n in data.get("namespaces", "").split(",") if n.strip()),
        cluster_resources=data.get("clusterResources", "").strip().lower() == "true",
        project=data.get("project", "").strip(),
        manifest=copy.deepcopy(doc),
        source_file=r.file,
    )
    r.raise_if_any()
    return cluster


def parse_cluster_secret(doc: dict[str, Any], source_file: str = "<stdin>") -> ClusterSecret:
    r = FieldReader(source_file)
    if not isinstance(doc, dict):
        r.problem("", f"a cluster Secret must be a mapping of fields, found {describe_value(doc)}")
        r.raise_if_any()
    return parse_cluster_secret_document(r, doc)
