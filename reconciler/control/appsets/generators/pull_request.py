"""The pull-request generator: one parameter set per open pull (merge) request of a repository
on GitHub (or Enterprise), GitLab, Gitea or Bitbucket Server, with Argo CD's parameters
(`number`, `branch`, `branch_slug`, `head_sha`, `head_short_sha`, ...; `labels` with
goTemplate). `filters` are alternatives: a request is kept when all fields of one filter match.
An API that fails or is down is a GeneratorError: the set keeps its apps as they are."""

from __future__ import annotations

import re
from typing import Any

from reconciler.control.appsets.context import GenerateContext, GeneratorError, append_values
from reconciler.control.appsets.scm import ScmError
from reconciler.control.appsets.scm.pull_requests import PROVIDERS, PullRequest, repository_urls
from reconciler.control.appsets.template import slugify

DEFAULT_REQUEUE_SECONDS = 1800.0  # Argo CD's 30 minutes; webhooks refresh at once


def _filters(spec: dict[str, Any], where: str) -> list[dict[str, re.Pattern[str]]]:
    compiled = []
    for index, item in enumerate(spec.get("filters") or []):
        entry = {}
        for key in ("branchMatch", "targetBranchMatch", "titleMatch"):
            if item.get(key):
                try:
                    entry[key] = re.compile(item[key])
                except re.error as exc:
                    raise GeneratorError(
                        f"{where}.filters[{index}].{key}", f"is not a regular expression: {exc}"
                    ) from None
        compiled.append(entry)
    return compiled


def _kept(pull: PullRequest, filters: list[dict[str, re.Pattern[str]]]) -> bool:
    if not filters:
        return True
    fields = {"branchMatch": pull.branch, "targetBranchMatch": pull.target_branch, "titleMatch": pull.title}
    return any(all(pattern.search(fields[key]) for key, pattern in f.items()) for f in filters)


def generate(ctx: GenerateContext, spec: dict[str, Any], where: str) -> list[dict[str, Any]]:
    ctx.requeue_after.append(float(spec.get("requeueAfterSeconds") or DEFAULT_REQUEUE_SECONDS))
    ctx.pull_request_repos.extend(repository_urls(spec))
    provider = next(name for name in PROVIDERS if isinstance(spec.get(name), dict))
    filters = _filters(spec, where)
    if ctx.scm is None:
        raise GeneratorError(where, "pull-request generators cannot run here")
    try:
        pulls = PROVIDERS[provider](ctx.scm, spec[provider], f"{where}.{provider}")
    except ScmError as exc:
        raise GeneratorError(where, str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise GeneratorError(where, f"the {provider} API answered in an unexpected shape: {exc!r}") from None
    params = []
    for pull in pulls:
        if not _kept(pull, filters):
            continue
        entry: dict[str, Any] = {
            "number": str(pull.number),
            "title": pull.title,
            "branch": pull.branch,
            "branch_slug": slugify(pull.branch),
            "target_branch": pull.target_branch,
            "target_branch_slug": slugify(pull.target_branch),
            "head_sha": pull.head_sha,
            "head_short_sha": pull.head_sha[:8],
            "head_short_sha_7": pull.head_sha[:7],
            "author": pull.author,
        }
        if ctx.go:
            entry["labels"] = list(pull.labels)
        append_values(ctx, spec.get("values"), entry, where)
        params.append(entry)
    return params
