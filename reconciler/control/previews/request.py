"""What a preview is asked for, as plain data that crosses processes (a Celery argument, Redis).

    PreviewRequest   repository, base and head revisions, the apps the caller may see, the PR
    PullRequest      where the result is posted: host, owner/repository, number, head commit
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from reconciler.core.errors import InputError

HOSTS = ("github", "gitlab", "gitea")
# A branch, tag or commit: what `git check-ref-format` allows, minus a leading dash (an option).
_REVISION = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/@+-]{1,250}$")


class InvalidPreviewRequest(InputError):
    """A field of the request cannot be used; the message names it."""


def check_request(repo_url: Any, base: Any, head: Any) -> tuple[str, str, str]:
    """(repoURL, base, head) when each is usable, else InvalidPreviewRequest naming the field."""
    if not isinstance(repo_url, str) or not repo_url.strip():
        raise InvalidPreviewRequest("repoURL: give the repository URL the applications use, e.g. "
                                    "https://github.com/org/config")
    for field, value in (("base", base), ("head", head)):
        if not isinstance(value, str) or not _REVISION.match(value.strip()):
            raise InvalidPreviewRequest(
                f"{field}: {value!r} is not a branch, tag or commit SHA (letters, digits, . _ / @ + -; "
                "not starting with -)"
            )
    return repo_url.strip(), base.strip(), head.strip()


@dataclass(frozen=True)
class PullRequest:
    host: str  # github | gitlab | gitea
    full_name: str  # owner/repository (GitLab: the project's path with namespace)
    number: int  # GitHub/Gitea pull request number, GitLab merge request iid
    head_sha: str  # the commit the status is set on
    url: str = ""  # the pull request's page
    fork: bool = False

    @property
    def key(self) -> str:
        """Names the pull request across pushes: a newer preview of the same key stops an older one."""
        return f"{self.host}:{self.full_name}#{self.number}"


@dataclass(frozen=True)
class PreviewRequest:
    repo_url: str
    base: str  # a branch, tag or commit SHA
    head: str
    # The apps the caller may `get` (the API passes them): a preview never renders more than its
    # caller could read. None: every registered app (the operator's CLI, a Git host's webhook).
    apps: tuple[str, ...] | None = None
    pull_request: PullRequest | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["apps"] = None if self.apps is None else list(self.apps)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreviewRequest:
        pr = data.get("pull_request")
        apps = data.get("apps")
        return cls(
            repo_url=str(data["repo_url"]),
            base=str(data["base"]),
            head=str(data["head"]),
            apps=None if apps is None else tuple(str(a) for a in apps),
            pull_request=PullRequest(**pr) if isinstance(pr, dict) else None,
        )
