"""Argo CD `Application` and `AppProject` models (argoproj.io/v1alpha1).

The dataclasses below are the contract the rest of the core reads: render, diff,
plan and the workers take these types, never raw YAML. Parsing and validation
live in this module too (`parse_manifests`, `load_file`).

Choices where Argo CD leaves room (each checked against its source):
- `spec.project` may be omitted: Argo CD reads an empty project as `default`.
- `spec.source.path` is required unless `chart` is set; "." is the repository root.
- A `retry` block replaces Argo CD's automated default (limit 5) as a whole, so a
  block without `limit` means no retries; `automated:` with no value is off.
- Application names are at most 63 characters: the name is a label value on every
  resource the app owns (Argo CD allows 253 with annotation tracking).
- `spec.sources` (multi-source) and `spec.source.plugin` are refused with a problem.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jq
import yaml

API_VERSION = "argoproj.io/v1alpha1"
DEFAULT_REVISION_HISTORY_LIMIT = 10
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"


@dataclass(frozen=True)
class HelmParameter:
    name: str
    value: str
    force_string: bool = False


@dataclass(frozen=True)
class HelmSource:
    value_files: tuple[str, ...] = ()
    values: str = ""  # a YAML string, as in Argo CD
    values_object: dict[str, Any] | None = None
    parameters: tuple[HelmParameter, ...] = ()
    release_name: str = ""  # empty: the application's name
    ignore_missing_value_files: bool = False


@dataclass(frozen=True)
class DirectorySource:
    recurse: bool = False
    include: str = ""  # glob, may be "{a.yaml,b.yaml}"
    exclude: str = ""


@dataclass(frozen=True)
class KustomizeSource:
    name_prefix: str = ""
    name_suffix: str = ""
    images: tuple[str, ...] = ()
    common_labels: dict[str, str] = field(default_factory=dict)
    namespace: str = ""


@dataclass(frozen=True)
class Source:
    repo_url: str
    path: str = ""
    target_revision: str = "HEAD"
    chart: str = ""  # Helm repository charts; not rendered by this system
    helm: HelmSource | None = None
    directory: DirectorySource | None = None
    kustomize: KustomizeSource | None = None

    @property
    def kind(self) -> str:
        """`Helm`, `Kustomize` or `Directory`; detection from files happens in render."""
        if self.helm is not None:
            return "Helm"
        if self.kustomize is not None:
            return "Kustomize"
        if self.directory is not None:
            return "Directory"
        return ""


@dataclass(frozen=True)
class Destination:
    server: str = ""
    name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class Backoff:
    duration_seconds: float = 5.0
    factor: float = 2.0
    max_duration_seconds: float = 180.0


@dataclass(frozen=True)
class RetryPolicy:
    limit: int = 5  # < 0 retries forever
    backoff: Backoff = field(default_factory=Backoff)


@dataclass(frozen=True)
class AutomatedPolicy:
    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False


@dataclass(frozen=True)
class SyncPolicy:
    automated: AutomatedPolicy | None = None
    sync_options: tuple[str, ...] = ()
    retry: RetryPolicy | None = None

    def option(self, name: str) -> str | None:
        """Value of a `Name=value` sync option, or None when absent."""
        for opt in self.sync_options:
            key, _, value = opt.partition("=")
            if key.strip() == name:
                return value.strip()
        return None

    def option_enabled(self, name: str) -> bool:
        return (self.option(name) or "").lower() == "true"


@dataclass(frozen=True)
class ResourceIgnoreDifferences:
    group: str = ""  # glob; "" is the core group
    kind: str = ""  # glob
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Application:
    name: str
    namespace: str
    project: str
    source: Source
    destination: Destination
    sync_policy: SyncPolicy = field(default_factory=SyncPolicy)
    ignore_differences: tuple[ResourceIgnoreDifferences, ...] = ()
    revision_history_limit: int = DEFAULT_REVISION_HISTORY_LIMIT
    finalizers: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    # The manifest as written, unknown fields included, so nothing a user wrote is lost.
    manifest: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    source_file: str = ""

    @property
    def automated(self) -> bool:
        return self.sync_policy.automated is not None


@dataclass(frozen=True)
class ProjectDestination:
    server: str = ""  # glob, "!" prefix denies
    name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class GroupKind:
    group: str
    kind: str


@dataclass(frozen=True)
class AppProject:
    name: str
    namespace: str
    source_repos: tuple[str, ...] = ()
    destinations: tuple[ProjectDestination, ...] = ()
    cluster_resource_whitelist: tuple[GroupKind, ...] = ()
    cluster_resource_blacklist: tuple[GroupKind, ...] = ()
    namespace_resource_whitelist: tuple[GroupKind, ...] = ()
    namespace_resource_blacklist: tuple[GroupKind, ...] = ()
    manifest: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    source_file: str = ""


# --------------------------------------------------------------------------------------
# Defaults and constants of the Argo CD format
# --------------------------------------------------------------------------------------

APPLICATION_KIND = "Application"
PROJECT_KIND = "AppProject"
# Argo CD: "The empty string means that application belongs to the 'default' project."
DEFAULT_PROJECT = "default"
# Where Argo CD keeps Applications and AppProjects when a manifest names no namespace.
DEFAULT_APP_NAMESPACE = "argocd"
# Argo CD's controller gives an automated sync `RetryStrategy{Limit: 5}` when the
# Application has no retry block (controller/appcontroller.go, autoSync).
DEFAULT_AUTOMATED_RETRY_LIMIT = 5
# The app name is written to the `app.kubernetes.io/instance` label of every object it
# owns, and label values are at most 63 characters.
MAX_TRACKED_APP_NAME = 63
MAX_DNS_SUBDOMAIN = 253

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_HINT = "is not a duration like 5s, 3m, 1h30m, 500ms (a bare whole number means seconds)"


# --------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One mistake in a manifest: the file, the field path, what is wrong and how to fix it."""

    file: str
    path: str  # e.g. `spec.syncPolicy.retry.backoff.duration`; "" for the file as a whole
    message: str
    line: int | None = None  # 1-based, when known

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(Exception):
    """Every problem found in a manifest (or file), reported together."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


# --------------------------------------------------------------------------------------
# Durations and retries
# --------------------------------------------------------------------------------------


def parse_duration(value: str | int | float) -> float:
    """Seconds in a Go duration (`5s`, `3m`, `1h30m`, `500ms`).

    As in Argo CD's backoff fields, a bare whole number ("5" or 5) means seconds.
    Raises ValueError naming the text when it is not a duration.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} {_DURATION_HINT}")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return float(int(text))
    sign = -1.0 if text.startswith("-") else 1.0
    rest = text[1:] if text[:1] in "+-" else text
    total, pos = 0.0, 0
    while pos < len(rest):
        match = _DURATION_PART.match(rest, pos)
        if match is None:
            raise ValueError(f"{text!r} {_DURATION_HINT}")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not rest:
        raise ValueError(f"{text!r} {_DURATION_HINT}")
    return sign * total


def format_duration(seconds: float) -> str:
    """The shortest Go duration for `seconds`: 5 -> `5s`, 180 -> `3m`, 5400 -> `1h30m`, 0.5 -> `500ms`."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds != int(seconds):
        millis = seconds * 1000
        return f"{sign}{int(millis)}ms" if millis == int(millis) else f"{sign}{seconds}s"
    whole = int(seconds)
    hours, rem = divmod(whole, 3600)
    minutes, secs = divmod(rem, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return sign + "".join(parts)


def effective_retry(app: Application) -> RetryPolicy | None:
    """The retry policy a failed sync of `app` follows, or None for no retries.

    Mirrors Argo CD's controller: an automated sync without a `retry` block still
    retries 5 times with the default backoff (5s, x2, at most 3m); a `retry` block
    replaces that whole policy, so a block without `limit` means limit 0 (no retries).
    Deviation: Argo CD applies the spec's retry block to automated syncs only (a manual
    sync carries its own retry request); here it applies to every sync of the app.
    """
    policy = app.sync_policy
    if policy.retry is not None:
        return policy.retry
    if policy.automated is not None:
        return RetryPolicy(limit=DEFAULT_AUTOMATED_RETRY_LIMIT)
    return None


def retry_delay(policy: RetryPolicy, retry_count: int) -> float:
    """Seconds to wait before retry number `retry_count` (0-based): duration * factor**count.

    Capped at maxDuration when that is positive (Argo CD leaves the wait uncapped when
    maxDuration is 0). Defaults give 5, 10, 20, 40, 80, 160, 180, 180... seconds.
    """
    backoff = policy.backoff
    wait = backoff.duration_seconds * float(backoff.factor) ** max(retry_count, 0)
    if backoff.max_duration_seconds > 0:
        wait = min(wait, backoff.max_duration_seconds)
    return wait


def should_retry(policy: RetryPolicy | None, retry_count: int) -> bool:
    """True when a sync that failed after `retry_count` retries may be retried again."""
    if policy is None:
        return False
    return policy.limit < 0 or retry_count < policy.limit


def default_project() -> AppProject:
    """Argo CD's built-in `default` project: any repository, any destination, any kind."""
    manifest: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": PROJECT_KIND,
        "metadata": {"name": DEFAULT_PROJECT, "namespace": DEFAULT_APP_NAMESPACE},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "name": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    }
    return AppProject(
        name=DEFAULT_PROJECT,
        namespace=DEFAULT_APP_NAMESPACE,
        source_repos=("*",),
        destinations=(ProjectDestination(server="*", name="*", namespace="*"),),
        cluster_resource_whitelist=(GroupKind("*", "*"),),
        manifest=manifest,
    )


# --------------------------------------------------------------------------------------
# Reading YAML with field paths and lines
# --------------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    """What a YAML value is, without echoing it (it may be a secret)."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _parent_path(path: str) -> str:
    if path.endswith("]"):
        return path[: path.rindex("[")]
    return path.rpartition(".")[0]


# Go's YAML decoder refuses "excessive aliasing" too; without a cap, a few lines of
# nested anchors expand to billions of nodes (and so would any JSON written from them).
MAX_DOCUMENT_NODES = 100_000


class _TooManyNodes(Exception):
    pass


def _node_lines(node: yaml.Node, path: str, lines: dict[str, int], budget: list[int]) -> None:
    """Record the 1-based line of every field path under `node`, within a node budget."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooManyNodes
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            lines.setdefault(child, key_node.start_mark.line + 1)
            _node_lines(value_node, child, lines, budget)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = f"{path}[{index}]"
            lines.setdefault(child, item.start_mark.line + 1)
            _node_lines(item, child, lines, budget)


class _Reader:
    """Typed reads from one manifest; each wrong field becomes a Problem naming its path."""

    def __init__(self, source_file: str, lines: dict[str, int] | None = None) -> None:
        self.file = source_file
        self.lines = lines or {}
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message, self.line_of(path)))

    def line_of(self, path: str) -> int | None:
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = _parent_path(path)

    def raise_if_any(self) -> None:
        if self.problems:
            raise SpecError(self.problems)

    def mapping(self, obj: dict[str, Any], key: str, path: str) -> dict[str, Any] | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problem(path, f"must be a mapping of fields, found {_describe(value)}")
            return None
        return value

    def string(self, obj: dict[str, Any], key: str, path: str, default: str = "") -> str:
        value = obj.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            self.problem(path, f"must be a string, found {_describe(value)}; put the value in quotes")
            return default
        return value

    def boolean(self, obj: dict[str, Any], key: str, path: str, default: bool = False) -> bool:
        value = obj.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(path, f"must be true or false, found {_describe(value)}")
            return default
        return value

    def integer(self, obj: dict[str, Any], key: str, path: str, default: int) -> int:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(path, f"must be a whole number, found {_describe(value)}")
            return default
        return value

    def items(self, obj: dict[str, Any], key: str, path: str) -> list[Any]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, f"must be a list, found {_describe(value)}")
            return []
        return value

    def strings(self, obj: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
        result = []
        for index, item in enumerate(self.items(obj, key, path)):
            if isinstance(item, str):
                result.append(item)
            else:
                self.problem(f"{path}[{index}]", f"must be a string, found {_describe(item)}; put it in quotes")
        return tuple(result)

    def string_map(self, obj: dict[str, Any], key: str, path: str) -> dict[str, str]:
        value = self.mapping(obj, key, path)
        result: dict[str, str] = {}
        for name, item in (value or {}).items():
            if isinstance(item, str):
                result[str(name)] = item
            else:
                self.problem(f"{path}.{name}", f"must be a string, found {_describe(item)}; put it in quotes")
        return result

    def duration(self, obj: dict[str, Any], key: str, path: str, default: float) -> float:
        value = obj.get(key)
        if value is None or value == "":
            return default
        try:
            seconds = parse_duration(value)
        except ValueError:
            shown = f'"{value}"' if isinstance(value, str) else _describe(value)
            self.problem(path, f"{shown} {_DURATION_HINT}")
            return default
        if seconds < 0:
            self.problem(path, f'"{value}" is negative; use a positive duration like 5s')
            return default
        return seconds


# --------------------------------------------------------------------------------------
# Application
# --------------------------------------------------------------------------------------


def _check_header(r: _Reader, doc: dict[str, Any], kind: str) -> None:
    if doc.get("apiVersion") != API_VERSION:
        found = doc.get("apiVersion")
        shown = f'"{found}"' if isinstance(found, str) else "nothing"
        r.problem("apiVersion", f"must be {API_VERSION} for kind {kind}, found {shown}")
    if doc.get("kind") != kind:
        r.problem("kind", f'must be "{kind}"')


def _read_metadata(r: _Reader, doc: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
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


def _read_directory(r: _Reader, obj: dict[str, Any], path: str) -> DirectorySource:
    return DirectorySource(
        recurse=r.boolean(obj, "recurse", f"{path}.recurse"),
        include=r.string(obj, "include", f"{path}.include"),
        exclude=r.string(obj, "exclude", f"{path}.exclude"),
    )


def _read_helm(r: _Reader, obj: dict[str, Any], path: str) -> HelmSource:
    values = obj.get("values")
    if isinstance(values, dict):
        r.problem(f"{path}.values", "must be a YAML string (write `values: |`), or move the mapping to valuesObject")
        values = None
    parameters = []
    for index, item in enumerate(r.items(obj, "parameters", f"{path}.parameters")):
        item_path = f"{path}.parameters[{index}]"
        if not isinstance(item, dict):
            r.problem(item_path, f"must be a mapping with name and value, found {_describe(item)}")
            continue
        name = r.string(item, "name", f"{item_path}.name")
        if not name:
            r.problem(f"{item_path}.name", "required: the Helm value to set, like image.tag")
        parameters.append(
            HelmParameter(
                name=name,
                value=r.string(item, "value", f"{item_path}.value"),
                force_string=r.boolean(item, "forceString", f"{item_path}.forceString"),
            )
        )
    values_object = r.mapping(obj, "valuesObject", f"{path}.valuesObject")
    return HelmSource(
        value_files=r.strings(obj, "valueFiles", f"{path}.valueFiles"),
        values=r.string({"values": values}, "values", f"{path}.values"),
        values_object=copy.deepcopy(values_object) if values_object is not None else None,
        parameters=tuple(parameters),
        release_name=r.string(obj, "releaseName", f"{path}.releaseName"),
        ignore_missing_value_files=r.boolean(obj, "ignoreMissingValueFiles", f"{path}.ignoreMissingValueFiles"),
    )


def _read_kustomize(r: _Reader, obj: dict[str, Any], path: str) -> KustomizeSource:
    return KustomizeSource(
        name_prefix=r.string(obj, "namePrefix", f"{path}.namePrefix"),
        name_suffix=r.string(obj, "nameSuffix", f"{path}.nameSuffix"),
        images=r.strings(obj, "images", f"{path}.images"),
        common_labels=r.string_map(obj, "commonLabels", f"{path}.commonLabels"),
        namespace=r.string(obj, "namespace", f"{path}.namespace"),
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


def _read_source(r: _Reader, spec: dict[str, Any]) -> Source:
    if spec.get("sources") is not None:
        r.problem("spec.sources", "multiple sources are not supported yet; use spec.source")
    obj = r.mapping(spec, "source", "spec.source")
    if obj is None:
        if spec.get("sources") is None:
            r.problem("spec.source", "required: give repoURL, path and targetRevision of the manifests")
        return Source(repo_url="")
    repo_url = r.string(obj, "repoURL", "spec.source.repoURL")
    if not repo_url.strip():
        r.problem("spec.source.repoURL", "required: the Git repository URL, like https://github.com/org/repo")
    chart = r.string(obj, "chart", "spec.source.chart")
    path = r.string(obj, "path", "spec.source.path")
    if not path and not chart:
        r.problem("spec.source.path", 'required: a directory in the repository; use "." for the repository root')
    elif path and _path_escapes_repo(path):
        r.problem("spec.source.path", f'"{path}" leaves the repository; give a directory inside it')
    if "plugin" in obj:
        r.problem(
            "spec.source.plugin",
            "config management plugins are not supported; use helm, kustomize or directory",
        )
    tools = [name for name in ("helm", "kustomize", "directory") if obj.get(name) is not None]
    if len(tools) > 1:
        r.problem("spec.source", f"set at most one of helm, kustomize, directory (found {', '.join(tools)})")
    helm = r.mapping(obj, "helm", "spec.source.helm")
    kustomize = r.mapping(obj, "kustomize", "spec.source.kustomize")
    directory = r.mapping(obj, "directory", "spec.source.directory")
    return Source(
        repo_url=repo_url,
        path=path,
        target_revision=r.string(obj, "targetRevision", "spec.source.targetRevision") or "HEAD",
        chart=chart,
        helm=_read_helm(r, helm, "spec.source.helm") if helm is not None else None,
        kustomize=_read_kustomize(r, kustomize, "spec.source.kustomize") if kustomize is not None else None,
        directory=_read_directory(r, directory, "spec.source.directory") if directory is not None else None,
    )


def _read_destination(r: _Reader, spec: dict[str, Any]) -> Destination:
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


def _read_retry(r: _Reader, obj: dict[str, Any]) -> RetryPolicy:
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
                f"must be a whole number of at least 1, found {_describe(raw_factor)}",
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


def _read_sync_policy(r: _Reader, spec: dict[str, Any]) -> SyncPolicy:
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
        name, sep, _ = option.partition("=")
        if not sep or not name.strip():
            r.problem(f"{path}.syncOptions[{index}]", f'"{option}" must be Name=value, like CreateNamespace=true')
    retry_obj = r.mapping(obj, "retry", f"{path}.retry")
    return SyncPolicy(
        automated=automated,
        sync_options=options,
        retry=_read_retry(r, retry_obj) if retry_obj is not None else None,
    )


def _read_ignore_differences(r: _Reader, spec: dict[str, Any]) -> tuple[ResourceIgnoreDifferences, ...]:
    result = []
    for index, item in enumerate(r.items(spec, "ignoreDifferences", "spec.ignoreDifferences")):
        path = f"spec.ignoreDifferences[{index}]"
        if not isinstance(item, dict):
            r.problem(path, f"must be a mapping with group, kind and jsonPointers, found {_describe(item)}")
            continue
        kind = r.string(item, "kind", f"{path}.kind")
        if not kind:
            r.problem(f"{path}.kind", 'required: the kind to ignore fields of, like Deployment (or "*")')
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


def _parse_application(r: _Reader, doc: dict[str, Any]) -> Application:
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
    app = Application(
        name=name,
        namespace=namespace,
        project=r.string(spec, "project", "spec.project") or DEFAULT_PROJECT,
        source=_read_source(r, spec),
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
    r = _Reader(source_file)
    if not isinstance(doc, dict):
        r.problem("", f"an Application must be a mapping of fields, found {_describe(doc)}")
        r.raise_if_any()
    return _parse_application(r, doc)


# --------------------------------------------------------------------------------------
# AppProject
# --------------------------------------------------------------------------------------


def _check_glob(r: _Reader, pattern: str, path: str) -> None:
    # Imported here: project.py imports this module for the dataclasses.
    from reconciler.engine.project_rules import glob_error

    error = glob_error(pattern.removeprefix("!"))
    if error:
        r.problem(path, f'"{pattern}" is not a valid pattern: {error}')


def _read_group_kinds(r: _Reader, spec: dict[str, Any], key: str) -> tuple[GroupKind, ...]:
    result = []
    for index, item in enumerate(r.items(spec, key, f"spec.{key}")):
        path = f"spec.{key}[{index}]"
        if not isinstance(item, dict):
            r.problem(path, f'must be a mapping like {{group: "apps", kind: Deployment}}, found {_describe(item)}')
            continue
        kind = r.string(item, "kind", f"{path}.kind")
        if not kind:
            r.problem(f"{path}.kind", 'required: a kind like Deployment, or "*" for every kind')
        group = r.string(item, "group", f"{path}.group")
        _check_glob(r, group, f"{path}.group")
        _check_glob(r, kind, f"{path}.kind")
        result.append(GroupKind(group=group, kind=kind))
    return tuple(result)


def _read_project_destinations(r: _Reader, spec: dict[str, Any]) -> tuple[ProjectDestination, ...]:
    result = []
    for index, item in enumerate(r.items(spec, "destinations", "spec.destinations")):
        path = f"spec.destinations[{index}]"
        if not isinstance(item, dict):
            r.problem(path, f'must be a mapping like {{server: "*", namespace: "*"}}, found {_describe(item)}')
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


def _parse_project(r: _Reader, doc: dict[str, Any]) -> AppProject:
    _check_header(r, doc, PROJECT_KIND)
    _, name, namespace = _read_metadata(r, doc)
    spec = r.mapping(doc, "spec", "spec") or {}
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
        manifest=copy.deepcopy(doc),
        source_file=r.file,
    )
    r.raise_if_any()
    return project


def parse_project(doc: dict[str, Any], source_file: str = "<stdin>") -> AppProject:
    """An AppProject from one parsed manifest; raises SpecError listing every problem.

    Fields beyond sourceRepos, destinations and the resource lists (roles, sync
    windows, ...) are kept in `AppProject.manifest` and not enforced.
    """
    r = _Reader(source_file)
    if not isinstance(doc, dict):
        r.problem("", f"an AppProject must be a mapping of fields, found {_describe(doc)}")
        r.raise_if_any()
    return _parse_project(r, doc)


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------

_PARSERS = {APPLICATION_KIND: _parse_application, PROJECT_KIND: _parse_project}


def parse_manifests(text: str, source_file: str = "<stdin>") -> list[Application | AppProject]:
    """Every Application and AppProject in a multi-document YAML text, in file order.

    Empty documents are skipped. Problems in all documents are collected and raised
    together as one SpecError; each names the file and, where known, the line.
    """
    loader = yaml.SafeLoader(text)
    results: list[Application | AppProject] = []
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
                _node_lines(node, "", lines, [MAX_DOCUMENT_NODES])
            except _TooManyNodes:
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
            r = _Reader(source_file, lines)
            if not isinstance(doc, dict):
                r.problem("", f"document {index} must be a mapping of fields, found {_describe(doc)}")
                problems.extend(r.problems)
                continue
            parse = _PARSERS.get(doc.get("kind"))  # type: ignore[arg-type]
            if parse is None:
                kind = doc.get("kind")
                shown = f'"{kind}"' if isinstance(kind, str) else "missing"
                r.problem(
                    "kind",
                    f"document {index} has kind {shown}; only {APPLICATION_KIND} and {PROJECT_KIND} "
                    f"({API_VERSION}) belong here",
                )
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


def load_file(path: str | Path) -> list[Application | AppProject]:
    """`parse_manifests` on a file; an unreadable file is a SpecError naming it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError([Problem(str(path), "", f"cannot read the file: {reason}")]) from exc
    return parse_manifests(text, str(path))


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
        _put(h, "releaseName", helm.release_name, "")
        _put(h, "ignoreMissingValueFiles", helm.ignore_missing_value_files, False)
    if source.kustomize is None:
        _drop(out, "kustomize")
    else:
        kustomize, k = source.kustomize, _section(out, "kustomize")
        _put(k, "namePrefix", kustomize.name_prefix, "")
        _put(k, "nameSuffix", kustomize.name_suffix, "")
        _put(k, "images", list(kustomize.images), [])
        _put(k, "commonLabels", dict(kustomize.common_labels), {})
        _put(k, "namespace", kustomize.namespace, "")
    if source.directory is None:
        _drop(out, "directory")
    else:
        directory, d = source.directory, _section(out, "directory")
        _put(d, "recurse", directory.recurse, False)
        _put(d, "include", directory.include, "")
        _put(d, "exclude", directory.exclude, "")


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
    _source_manifest(app.source, _section(spec, "source"))
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
    return doc


def with_source(app: Application, source: dict[str, Any]) -> Application:
    """`app` syncing another `spec.source` (a rollback's recorded one); SpecError if it is invalid."""
    manifest = application_to_manifest(app)
    manifest = {**manifest, "spec": {**manifest.get("spec", {}), "source": source}}
    return parse_application(manifest, source_file=f"history of application {app.name}")
