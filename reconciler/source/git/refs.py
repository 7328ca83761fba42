"""Remote ref listings (`git ls-remote` output) and resolving a revision against one.

Pure functions: the Git source runs the command, these read its output.

Resolution order follows Argo CD (util/git/client.go, resolveRevision): `HEAD` (or
empty) is the remote's default branch; a full ref name matches exactly; a short name
matches the first of `refs/heads/<name>`, `refs/tags/<name>`, so a branch wins over a
tag of the same name, as it does in Argo CD. Annotated tags resolve to the commit
they point at (the peeled `^{}` entry). Commit SHAs are not in a listing; the caller
checks them against the mirror.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
# Argo CD treats 7+ hex characters that name no ref as a truncated commit SHA.
_SHORT_SHA = re.compile(r"^[0-9a-f]{7,39}$")


@dataclass(frozen=True)
class RefListing:
    """What the remote advertised: ref name -> commit SHA (tags peeled), and HEAD's target."""

    refs: dict[str, str] = field(default_factory=dict)
    head_target: str = ""  # e.g. "refs/heads/main"; empty when the server did not say


def parse_ls_remote(output: str) -> RefListing:
    """Read `git ls-remote --symref` output into a listing.

    Lines are `<sha>\\t<ref>`, `<sha>\\t<ref>^{}` (the commit an annotated tag points
    at, which replaces the tag object's SHA) and `ref: <target>\\tHEAD`.
    """
    refs: dict[str, str] = {}
    peeled: dict[str, str] = {}
    head_target = ""
    for raw in output.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("ref: "):
            target, _, name = line[len("ref: ") :].partition("\t")
            if name == "HEAD":
                head_target = target
            continue
        sha, sep, name = line.partition("\t")
        if not sep or not _FULL_SHA.match(sha):
            raise ValueError(f"unexpected line in git ls-remote output: {line!r}")
        if name.endswith("^{}"):
            peeled[name[: -len("^{}")]] = sha
        else:
            refs[name] = sha
    refs.update(peeled)
    return RefListing(refs=refs, head_target=head_target)


def resolve_in_listing(listing: RefListing, revision: str) -> str | None:
    """Commit SHA that `revision` names in the listing, or None when it names no ref."""
    revision = revision.strip()
    if revision in ("", "HEAD"):
        if listing.head_target and listing.head_target in listing.refs:
            return listing.refs[listing.head_target]
        return listing.refs.get("HEAD")
    if revision.startswith("refs/"):
        return listing.refs.get(revision)
    for candidate in (f"refs/heads/{revision}", f"refs/tags/{revision}"):
        if candidate in listing.refs:
            return listing.refs[candidate]
    return None


def is_full_sha(revision: str) -> bool:
    return bool(_FULL_SHA.match(revision))


def is_short_sha(revision: str) -> bool:
    return bool(_SHORT_SHA.match(revision))
