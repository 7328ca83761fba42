"""The SCM-provider generator: one parameter set per repository (and branch) of a GitHub
organisation or GitLab group, with Argo CD's parameters (`organization`, `repository`, `url`,
`branch`, `branchNormalized`, `sha`, `short_sha`, `short_sha_7`, `labels`, `repository_id`).
`filters` are alternatives; within one, every field set must match (`pathsExist` paths all
present, `pathsDoNotExist` all absent, `labelMatch` any topic)."""

from __future__ import annotations

import re
from typing import Any

from reconciler.control.appsets.context import GenerateContext, GeneratorError, append_values
from reconciler.control.appsets.scm import ScmError
from reconciler.control.appsets.scm.repositories import PROVIDERS, Repository
from reconciler.control.appsets.template import sanitize_name

DEFAULT_REQUEUE_SECONDS = 1800.0


def _regex(text: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise GeneratorError(where, f"is not a regular expression: {exc}") from None


def _passes(provider: Any, repo: Repository, item: dict[str, Any], where: str) -> bool:
    if item.get("repositoryMatch") and not _regex(item["repositoryMatch"], f"{where}.repositoryMatch").search(
        repo.repository
    ):
        return False
    if item.get("branchMatch") and not _regex(item["branchMatch"], f"{where}.branchMatch").search(repo.branch):
        return False
    if item.get("labelMatch"):
        pattern = _regex(item["labelMatch"], f"{where}.labelMatch")
        if not any(pattern.search(label) for label in repo.labels):
            return False
    if any(not provider.has_path(repo, path) for path in item.get("pathsExist") or []):
        return False
    return not any(provider.has_path(repo, path) for path in item.get("pathsDoNotExist") or [])


def generate(ctx: GenerateContext, spec: dict[str, Any], where: str) -> list[dict[str, Any]]:
    ctx.requeue_after.append(float(spec.get("requeueAfterSeconds") or DEFAULT_REQUEUE_SECONDS))
    name = next(n for n in PROVIDERS if isinstance(spec.get(n), dict))
    if ctx.scm is None:
        raise GeneratorError(where, "SCM-provider generators cannot run here")
    filters = spec.get("filters") or []
    try:
        provider = PROVIDERS[name](ctx.scm, spec[name], spec.get("cloneProtocol") or "ssh", f"{where}.{name}")
        repos = [
            repo
            for repo in provider.repositories()
            if not filters or any(_passes(provider, repo, f, f"{where}.filters[{i}]") for i, f in enumerate(filters))
        ]
    except ScmError as exc:
        raise GeneratorError(where, str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise GeneratorError(where, f"the {name} API answered in an unexpected shape: {exc!r}") from None
    params = []
    for repo in repos:
        entry: dict[str, Any] = {
            "organization": repo.organization,
            "repository": repo.repository,
            "url": repo.url,
            "branch": repo.branch,
            "branchNormalized": sanitize_name(repo.branch),
            "sha": repo.sha,
            "short_sha": repo.sha[:8],
            "short_sha_7": repo.sha[:7],
            "labels": ",".join(repo.labels),
            "repository_id": repo.repository_id if ctx.go else str(repo.repository_id),
        }
        append_values(ctx, spec.get("values"), entry, where)
        params.append(entry)
    return params
