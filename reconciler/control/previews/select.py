"""Which registered apps a change to a repository concerns, and which of them it touches.

An app is concerned when one of its sources comes from the repository. It is touched when a
file changed between base and head lies under what its sources read from that repository: the
source path, Helm value files (also `$ref/...` value files of a multi-source app), and Argo CD's
`argocd.argoproj.io/manifest-generate-paths` annotation, the paths Argo CD itself uses to decide
that a commit leaves an app's manifests as they were. A concerned app that is not touched renders
the same at both commits and is reported unchanged without rendering; an app whose render reads
files elsewhere declares them in that annotation (docs/previews.md).

This reads the registered manifests as they are stored, without parsing them: a preview among
thousands of apps parses only the few it renders.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.core.urls import normalize_repo_url
from reconciler.core.watched_paths import files_match

MANIFEST_GENERATE_PATHS = "argocd.argoproj.io/manifest-generate-paths"


@dataclass(frozen=True)
class Concerned:
    name: str
    project: str
    manifest: dict[str, Any]
    touched: bool


@functools.lru_cache(maxsize=4096)
def _repository(url: str) -> str:
    """A repository's name whatever the transport (as core/urls.same_repository compares)."""
    try:
        return normalize_repo_url(url).split("://", 1)[1]
    except (ValueError, IndexError):
        return f"invalid:{url}"


def _same(a: str, b: str) -> bool:
    return _repository(a) == _repository(b)


def _sources(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    spec = manifest.get("spec") if isinstance(manifest.get("spec"), dict) else {}
    sources = spec.get("sources") if isinstance(spec.get("sources"), list) and spec.get("sources") else [
        spec.get("source")]
    return [s for s in sources if isinstance(s, dict)]


def _value_files(source: Mapping[str, Any]) -> list[str]:
    helm = source.get("helm") if isinstance(source.get("helm"), dict) else {}
    files = helm.get("valueFiles") if isinstance(helm.get("valueFiles"), list) else []
    return [str(f) for f in files]


def _uses(manifest: Mapping[str, Any], repo_url: str) -> list[dict[str, Any]]:
    return [s for s in _sources(manifest) if not s.get("chart") and _same(str(s.get("repoURL") or ""), repo_url)]


def touches(manifest: Mapping[str, Any], repo_url: str, changed: Sequence[str] | None) -> bool:
    """Whether a change of `changed` files (None: unknown, so yes) may change what the app renders."""
    metadata = manifest.get("metadata") if isinstance(manifest.get("metadata"), dict) else {}
    annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
    extra = str(annotations.get(MANIFEST_GENERATE_PATHS) or "")
    for source in _uses(manifest, repo_url):
        ref, path = str(source.get("ref") or ""), str(source.get("path") or "")
        if ref and not path:
            # A source that only lends files: what other sources read of it, from its root.
            prefix = f"${ref}/"
            lent = [f for other in _sources(manifest) for f in _value_files(other) if f.startswith(prefix)]
            paths = [f.removeprefix(prefix) for f in lent]
            paths += [p for p in extra.split(";") if p.strip().startswith("/")]
            if any(files_match(changed, p) for p in paths):
                return True
        elif files_match(changed, path, _value_files(source), extra):
            return True
    return False


def concerned_apps(
    manifests: Mapping[str, dict[str, Any]], repo_url: str, changed: Sequence[str] | None,
    allowed: Sequence[str] | None,
) -> list[Concerned]:
    """The apps (among `allowed` names, all when None) whose sources come from `repo_url`."""
    names = sorted(manifests) if allowed is None else sorted(set(allowed) & set(manifests))
    found = []
    for name in names:
        manifest = manifests[name]
        if not _uses(manifest, repo_url):
            continue
        spec = manifest.get("spec") if isinstance(manifest.get("spec"), dict) else {}
        found.append(Concerned(name, str(spec.get("project") or "default"), manifest,
                               touches(manifest, repo_url, changed)))  # fmt: skip
    return found
