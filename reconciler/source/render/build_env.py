"""Argo CD's build environment: `$ARGOCD_APP_NAME`, `$ARGOCD_APP_REVISION`, ... in source options.

    build_environment(app, source, revision, capabilities) -> BuildEnvironment
    with_build_environment(source, env, ref_names) -> Source    (the options, substituted)

The variables are those of Argo CD's "Build Environment" page: ARGOCD_APP_NAME,
ARGOCD_APP_NAMESPACE (the destination namespace), ARGOCD_APP_PROJECT_NAME, ARGOCD_APP_REVISION
(the resolved commit, or a chart's version), ARGOCD_APP_REVISION_SHORT (7 characters),
ARGOCD_APP_REVISION_SHORT_8, ARGOCD_APP_SOURCE_REPO_URL, ARGOCD_APP_SOURCE_PATH,
ARGOCD_APP_SOURCE_TARGET_REVISION (of the source being rendered), KUBE_VERSION (the destination's
version, `1.31.0`) and KUBE_API_VERSIONS (its served group/versions and group/version/kinds,
comma-separated).

They are substituted only where Argo CD's repo server substitutes them (reposerver/repository
`helmTemplate`, `getResolvedValueFiles`, `makeJsonnetVM`; util/kustomize `Build`):
Helm `parameters[].value`, `valueFiles[]` and `fileParameters[].path` (after a `$ref/` prefix);
Kustomize `images[]`, `commonLabels` values, and `commonAnnotations` values when
`commonAnnotationsEnvsubst: true`; Jsonnet `extVars[].value` and `tlas[].value`. Not in Helm
`values`/`valuesObject` or `releaseName`, nor Kustomize `namePrefix`/`nameSuffix`/`namespace`,
as in Argo CD.

Syntax is Go's `os.Expand`, which Argo CD uses: `$NAME` or `${NAME}`, `$$` for a literal `$`, a
`$` followed by nothing that can start a name left as it is. One difference on purpose: Argo CD
turns an unknown name into an empty string; here it is an error naming the field and the
variable, because a value silently cut short (a password holding `$x`) is worse than a failed
render that says to write `$$`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from reconciler.model import Application, Source
from reconciler.model.types import (
    DirectorySource,
    HelmFileParameter,
    HelmParameter,
    HelmSource,
    JsonnetOptions,
    JsonnetVar,
    KustomizeSource,
)
from reconciler.source.render.capabilities import Capabilities
from reconciler.source.render.errors import RenderError

_NAME_CHARS = re.compile(r"[A-Za-z0-9_]*")
_SHELL_SPECIAL = frozenset("*#$@!?-0123456789")
_SEMVER_CORE = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


@dataclass(frozen=True)
class BuildEnvironment:
    """The build variables of one source of one app, and how a value is substituted with them."""

    values: Mapping[str, str]

    def substitute(self, text: str, field: str) -> str:
        """`text` with `$NAME` / `${NAME}` replaced (Go's os.Expand rules); RenderError naming
        `field` for a name that is not a build variable or a malformed `${`."""
        out: list[str] = []
        i = 0
        while i < len(text):
            char = text[i]
            if char != "$" or i + 1 >= len(text):
                out.append(char)
                i += 1
                continue
            name, width = _shell_name(text, i + 1)
            if not name and width:
                raise RenderError(f"{field}: {text[i:i + 1 + width]!r} is not a variable reference; "
                                  "write ${NAME}, or $$ for a literal $")
            if name in ("", "$"):  # "$" not starting a name stays; "$$" is a literal "$"
                out.append("$")
            elif name in self.values:
                out.append(self.values[name])
            else:
                raise RenderError(
                    f"{field}: ${name} is not a build environment variable (known: {', '.join(self.values)}); "
                    "write $$ for a literal $"
                )
            i += 1 + width
        return "".join(out)


def _shell_name(text: str, start: int) -> tuple[str, int]:
    """Go's getShellName: the name after a `$` at `start - 1`, and how many characters it spans."""
    if text[start] == "{":
        if len(text) > start + 2 and text[start + 1] in _SHELL_SPECIAL and text[start + 2] == "}":
            return text[start + 1], 3
        close = text.find("}", start + 1)
        if close == -1:
            return "", 1  # "${" never closed
        if close == start + 1:
            return "", 2  # "${}"
        return text[start + 1:close], close - start + 1
    if text[start] in _SHELL_SPECIAL:
        return text[start], 1
    name = _NAME_CHARS.match(text, start)
    found = name.group(0) if name else ""
    return found, len(found)


def kube_version_number(version: str) -> str:
    """`v1.31.2+k3s1` -> `1.31.2`: "the semantic version of Kubernetes without trailing metadata"."""
    match = _SEMVER_CORE.match(version.strip())
    if not match:
        return version
    return ".".join(part or "0" for part in match.groups())


def build_environment(
    app: Application, source: Source, revision: str, capabilities: Capabilities | None
) -> BuildEnvironment:
    """The variables Argo CD's repo server sets while it renders `source` of `app` at `revision`."""
    capabilities = capabilities or Capabilities()
    return BuildEnvironment({
        "ARGOCD_APP_NAME": app.name,
        "ARGOCD_APP_NAMESPACE": app.destination.namespace,
        "ARGOCD_APP_PROJECT_NAME": app.project,
        "ARGOCD_APP_REVISION": revision,
        "ARGOCD_APP_REVISION_SHORT": revision[:7],
        "ARGOCD_APP_REVISION_SHORT_8": revision[:8],
        "ARGOCD_APP_SOURCE_REPO_URL": source.repo_url,
        "ARGOCD_APP_SOURCE_PATH": source.path,
        "ARGOCD_APP_SOURCE_TARGET_REVISION": source.target_revision,
        "KUBE_VERSION": kube_version_number(capabilities.kube_version),
        "KUBE_API_VERSIONS": ",".join(capabilities.api_versions),
    })


def with_build_environment(source: Source, env: BuildEnvironment, ref_names: Collection[str] = ()) -> Source:
    """`source` with the build variables substituted in the fields Argo CD substitutes them in.
    `ref_names`: the `ref` sources a `$name/...` value file or file parameter may start with."""
    return dataclasses.replace(
        source,
        helm=_helm(source.helm, env, ref_names) if source.helm else None,
        kustomize=_kustomize(source.kustomize, env) if source.kustomize else None,
        directory=_directory(source.directory, env) if source.directory else None,
    )


def _helm(helm: HelmSource, env: BuildEnvironment, ref_names: Collection[str]) -> HelmSource:
    at = "spec.source.helm"
    return dataclasses.replace(
        helm,
        parameters=tuple(
            HelmParameter(p.name, env.substitute(p.value, f"{at}.parameters[{i}].value"), p.force_string)
            for i, p in enumerate(helm.parameters)
        ),
        value_files=tuple(
            _path(entry, env, f"{at}.valueFiles[{i}]", ref_names) for i, entry in enumerate(helm.value_files)
        ),
        file_parameters=tuple(
            HelmFileParameter(p.name, _path(p.path, env, f"{at}.fileParameters[{i}].path", ref_names))
            for i, p in enumerate(helm.file_parameters)
        ),
    )


def _path(entry: str, env: BuildEnvironment, field: str, ref_names: Collection[str]) -> str:
    """A value file's path; after a `$ref/` prefix naming a ref source, as Argo CD resolves the
    reference first and substitutes the rest."""
    if entry.startswith("$"):
        head, slash, rest = entry.partition("/")
        if head[1:] in ref_names:
            return head + slash + env.substitute(rest, field)
        if head[1:] not in env.values:
            return entry  # a `$ref/` no source names: the Helm renderer says so, naming the ref
    return env.substitute(entry, field)


def _kustomize(kustomize: KustomizeSource, env: BuildEnvironment) -> KustomizeSource:
    at = "spec.source.kustomize"
    annotations = kustomize.common_annotations
    if kustomize.common_annotations_envsubst:
        annotations = {k: env.substitute(v, f"{at}.commonAnnotations.{k}") for k, v in annotations.items()}
    return dataclasses.replace(
        kustomize,
        images=tuple(env.substitute(image, f"{at}.images[{i}]") for i, image in enumerate(kustomize.images)),
        common_labels={k: env.substitute(v, f"{at}.commonLabels.{k}") for k, v in kustomize.common_labels.items()},
        common_annotations=annotations,
    )


def _directory(directory: DirectorySource, env: BuildEnvironment) -> DirectorySource:
    if directory.jsonnet is None:
        return directory
    at = "spec.source.directory.jsonnet"
    jsonnet = directory.jsonnet

    def substituted(variables: tuple[JsonnetVar, ...], field: str) -> tuple[JsonnetVar, ...]:
        return tuple(
            JsonnetVar(v.name, env.substitute(v.value, f"{at}.{field}[{i}].value"), v.code)
            for i, v in enumerate(variables)
        )

    options = JsonnetOptions(substituted(jsonnet.ext_vars, "extVars"), substituted(jsonnet.tlas, "tlas"), jsonnet.libs)
    return dataclasses.replace(directory, jsonnet=options)
