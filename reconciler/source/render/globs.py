"""Argo CD's include/exclude globs for directory sources.

Argo CD matches with gobwas/glob and no separators against the path relative to
`source.path`: `*` and `**` match any run of characters, `/` included; `?` one
character; `[abc]`, `[a-z]`, `[!abc]` classes; `{a,b}` alternatives, which may
nest and hold wildcards; `\\` escapes. The whole path must match.
"""

from __future__ import annotations

import re
from functools import lru_cache

from reconciler.source.render.errors import RenderError


def glob_match(pattern: str, path: str, *, field: str = "glob") -> bool:
    return _compile(pattern, field).fullmatch(path) is not None


@lru_cache(maxsize=256)
def _compile(pattern: str, field: str) -> re.Pattern[str]:
    regex, end = _translate(pattern, 0, field, in_braces=False)
    if end != len(pattern):
        raise RenderError(f"{field} {pattern!r}: unbalanced '}}' at position {end + 1}")
    return re.compile(regex, re.DOTALL)


def _translate(pattern: str, start: int, field: str, *, in_braces: bool) -> tuple[str, int]:
    """Regex for pattern[start:], stopping before `,` or `}` when inside braces."""
    out: list[str] = []
    i = start
    while i < len(pattern):
        char = pattern[i]
        if in_braces and char in ",}":
            return "".join(out), i
        if char == "*":
            while i + 1 < len(pattern) and pattern[i + 1] == "*":
                i += 1
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise RenderError(f"{field} {pattern!r}: '[' at position {i + 1} is never closed")
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\").replace("^", "\\^") + "]")
            i = end
        elif char == "{":
            alternatives: list[str] = []
            i += 1
            while True:
                alternative, i = _translate(pattern, i, field, in_braces=True)
                alternatives.append(alternative)
                if i >= len(pattern):
                    raise RenderError(f"{field} {pattern!r}: '{{' is never closed")
                if pattern[i] == "}":
                    break
                i += 1  # past the comma
            out.append("(?:" + "|".join(alternatives) + ")")
        elif char == "}" and not in_braces:
            return "".join(out), i
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out), i
