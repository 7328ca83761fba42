"""What a trigger condition may call: Argo CD's helper namespaces (`time`, `strings`, `repo`,
util/notification/expression in argo-cd) and the expr-lang builtins worth having. Anything not
listed here is refused when the configuration loads, by name."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus, urlsplit, urlunsplit

from reconciler.control.notifications.expr.values import (
    NANOSECONDS_PER_SECOND,
    RFC3339,
    RFC3339_NANO,
    Duration,
    ExprError,
    GoTime,
    parse_rfc3339,
    type_name,
)


def _now() -> GoTime:
    return GoTime(dt.datetime.now(dt.UTC))


def _string_arg(function: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ExprError(f"{function}: expected a string, got {type_name(value)}")
    return value


_SCP = re.compile(r"^(?:[A-Za-z0-9_]+@)?(?P<host>[A-Za-z0-9._-]+):(?P<path>[A-Za-z0-9./_-]+)$")
_GIT_TRANSPORTS = {"ssh", "git", "git+ssh", "http", "https", "ftp", "ftps", "rsync", "file"}


def _git_url_parts(raw: str) -> tuple[str, str, str, str]:
    """(scheme, host, path, query) as Argo CD's giturls.Parse reads a Git URL."""
    parts = urlsplit(raw)
    if parts.scheme in _GIT_TRANSPORTS:
        return parts.scheme, parts.hostname or "", parts.path, parts.query
    scp = _SCP.match(raw)
    if scp:
        return "ssh", scp.group("host"), scp.group("path"), ""
    return "file", "", raw, ""


def repo_url_to_https(raw: Any) -> str:
    """Argo CD's repo.RepoURLToHTTPS: the same host and path over https, without user info."""
    _scheme, host, path, query = _git_url_parts(_string_arg("repo.RepoURLToHTTPS", raw))
    return urlunsplit(("https", host, path, query, ""))


def full_name_by_repo_url(raw: Any) -> str:
    """Argo CD's repo.FullNameByRepoURL: `owner/name` of a GitHub, GitLab or Bitbucket URL."""
    _scheme, _host, path, _query = _git_url_parts(_string_arg("repo.FullNameByRepoURL", raw))
    path = re.sub(r"\.git$", "", path)
    parts = [part for part in path.split("/") if part]
    return "/".join(parts[:2]) if len(parts) >= 2 else path


def _duration(nanoseconds: int) -> Duration:
    return Duration(nanoseconds)


TIME: dict[str, Any] = {
    "Now": _now,
    "Parse": parse_rfc3339,
    "Nanosecond": _duration(1),
    "Microsecond": _duration(1_000),
    "Millisecond": _duration(1_000_000),
    "Second": _duration(NANOSECONDS_PER_SECOND),
    "Minute": _duration(60 * NANOSECONDS_PER_SECOND),
    "Hour": _duration(3600 * NANOSECONDS_PER_SECOND),
    "RFC3339": RFC3339,
    "RFC3339Nano": RFC3339_NANO,
}
STRINGS: dict[str, Any] = {
    "ReplaceAll": lambda s, old, new: _string_arg("strings.ReplaceAll", s).replace(
        _string_arg("strings.ReplaceAll", old), _string_arg("strings.ReplaceAll", new)
    ),
    "ToUpper": lambda s: _string_arg("strings.ToUpper", s).upper(),
    "ToLower": lambda s: _string_arg("strings.ToLower", s).lower(),
}
REPO: dict[str, Any] = {
    "RepoURLToHTTPS": repo_url_to_https,
    "FullNameByRepoURL": full_name_by_repo_url,
    "QueryEscape": lambda s: quote_plus(_string_arg("repo.QueryEscape", s)),
}
NAMESPACES: dict[str, dict[str, Any]] = {"time": TIME, "strings": STRINGS, "repo": REPO}
# Argo CD helpers that need its repo-server or sync internals: named when refused.
NOT_SUPPORTED = {
    "repo.GetCommitMetadata": "commit metadata is not available to trigger conditions here",
    "repo.GetAppDetails": "application source details are not available to trigger conditions here",
    "sync.GetInfoItem": "sync operation info items are not recorded by this system",
}


def _length(value: Any) -> int:
    if isinstance(value, str | list | dict):
        return len(value)
    raise ExprError(f"len: invalid argument of type {type_name(value)}")


def _to_number(kind: type, value: Any) -> int | float:
    if isinstance(value, Duration):
        return kind(value.nanoseconds)
    try:
        return kind(value)  # type: ignore[no-any-return]
    except (TypeError, ValueError):
        raise ExprError(f"{kind.__name__}: cannot convert {value!r}") from None


BUILTINS: dict[str, Callable[..., Any]] = {
    "len": _length,
    "upper": lambda s: _string_arg("upper", s).upper(),
    "lower": lambda s: _string_arg("lower", s).lower(),
    "trim": lambda s, chars=None: _string_arg("trim", s).strip(chars),
    "trimPrefix": lambda s, p: _string_arg("trimPrefix", s).removeprefix(_string_arg("trimPrefix", p)),
    "trimSuffix": lambda s, p: _string_arg("trimSuffix", s).removesuffix(_string_arg("trimSuffix", p)),
    "hasPrefix": lambda s, p: _string_arg("hasPrefix", s).startswith(_string_arg("hasPrefix", p)),
    "hasSuffix": lambda s, p: _string_arg("hasSuffix", s).endswith(_string_arg("hasSuffix", p)),
    "split": lambda s, sep: _string_arg("split", s).split(_string_arg("split", sep)),
    "join": lambda items, sep="": _string_arg("join", sep).join(_string_arg("join", i) for i in items),
    "indexOf": lambda s, sub: _string_arg("indexOf", s).find(_string_arg("indexOf", sub)),
    "abs": lambda n: abs(n),
    "int": lambda n: _to_number(int, n),
    "float": lambda n: _to_number(float, n),
    "string": lambda v: v if isinstance(v, str) else json.dumps(v),
    "max": lambda *n: max(n),
    "min": lambda *n: min(n),
    "keys": lambda m: sorted(m) if isinstance(m, dict) else _fail("keys", m),
    "values": lambda m: [m[k] for k in sorted(m)] if isinstance(m, dict) else _fail("values", m),
    "first": lambda items: items[0] if items else None,
    "last": lambda items: items[-1] if items else None,
    "now": _now,
    "toJSON": lambda v: json.dumps(v, indent=2, sort_keys=True),
}


def _fail(function: str, value: Any) -> Any:
    raise ExprError(f"{function}: invalid argument of type {type_name(value)}")
