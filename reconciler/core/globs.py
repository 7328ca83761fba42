"""Argo CD's two glob dialects, compiled to regular expressions.

- `glob_match`: Argo CD's util/glob, i.e. gobwas/glob v0.2.3, used for `sourceRepos`,
  destinations, sync windows and directory `include`/`exclude`. `*` is any run of
  characters but the separators, `**` any run at all, `?` one character but a separator,
  `[abc]` / `[a-z]` one listed character or one range (a single list or a single range per
  brackets), `[!...]` negated (`^` is an ordinary character), `{a,b}` alternatives that may
  nest and hold wildcards, `\\` escapes the next character (a trailing one is dropped).
  `,` and `}` are ordinary characters outside braces.
- `kind_match`: Go's `path/filepath.Match`, which Argo CD uses for the group and kind of
  AppProject resource white- and blacklists: `*` and `?` do not cross `/`, `[^...]`
  negates, a class holds several ranges, no braces.

A pattern either dialect cannot read raises GlobError from `compile_*`; the `*_match`
functions answer False for it, as Argo CD does (it logs and matches nothing), so callers
that want to report the pattern validate it first (`glob_error`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from reconciler.core.errors import InputError


class GlobError(InputError, ValueError):
    """A pattern that cannot be read; the message says what is wrong with it."""


def glob_match(pattern: str, text: str, separators: str = "") -> bool:
    try:
        return compile_glob(pattern, separators).fullmatch(text) is not None
    except GlobError:
        return False


def glob_error(pattern: str) -> str | None:
    """Why Argo CD could not use `pattern` as a glob, or None when it can."""
    try:
        compile_glob(pattern)
    except GlobError as error:
        return str(error)
    return None


def kind_pattern_error(pattern: str) -> str | None:
    """Why Go's filepath.Match would refuse `pattern`, or None when it reads it."""
    try:
        compile_kind_pattern(pattern)
    except GlobError as error:
        return str(error)
    return None


def kind_match(pattern: str, name: str) -> bool:
    try:
        return compile_kind_pattern(pattern).fullmatch(name) is not None
    except GlobError:
        return False


@lru_cache(maxsize=1024)
def compile_glob(pattern: str, separators: str = "") -> re.Pattern[str]:
    reader = _GlobReader(pattern, separators)
    regex = reader.sequence(in_braces=False)
    return re.compile(regex, re.DOTALL)


class _GlobReader:
    """gobwas/glob's lexer and parser in one pass, writing a regex as it reads."""

    def __init__(self, pattern: str, separators: str) -> None:
        self.pattern = pattern
        self.position = 0
        self.one = f"[^{re.escape(separators)}]" if separators else "."

    def sequence(self, *, in_braces: bool) -> str:
        out: list[str] = []
        while self.position < len(self.pattern):
            char = self.pattern[self.position]
            if in_braces and char in ",}":
                return "".join(out)
            self.position += 1
            if char == "*":
                if self.pattern.startswith("*", self.position):
                    self.position += 1
                    out.append(".*")
                else:
                    out.append(f"{self.one}*")
            elif char == "?":
                out.append(self.one)
            elif char == "[":
                out.append(self.brackets())
            elif char == "{":
                out.append(self.alternatives())
            else:
                self.position -= 1
                out.append(re.escape(self.text(",}" if in_braces else "")))
        if in_braces:
            raise GlobError(f"{self.pattern!r}: a '{{' is never closed")
        return "".join(out)

    def text(self, also_breaking: str) -> str:
        """Characters up to the next special one; `\\` makes the next one ordinary."""
        breakers = "*?[{" + also_breaking
        data: list[str] = []
        escaped = False
        while self.position < len(self.pattern):
            char = self.pattern[self.position]
            if not escaped and char == "\\":
                escaped = True
                self.position += 1
                continue
            if not escaped and char in breakers:
                break
            escaped = False
            data.append(char)
            self.position += 1
        return "".join(data)

    def brackets(self) -> str:
        negate = self.pattern.startswith("!", self.position)
        if negate:
            self.position += 1
        start = self.position
        if len(self.pattern) - start >= 3 and self.pattern[start + 1] == "-":
            low, high = self.pattern[start], self.pattern[start + 2]
            self.position = start + 3
            body = f"{re.escape(low)}-{re.escape(high)}"
        else:
            body = "".join(re.escape(char) for char in self.text_until_close())
        if self.position >= len(self.pattern):
            raise GlobError(f"{self.pattern!r}: a '[' is never closed")
        if self.pattern[self.position] != "]":
            raise GlobError(f"{self.pattern!r}: brackets hold one range or one list of characters")
        self.position += 1
        if not body:
            return "[^\\s\\S]" if not negate else "[\\s\\S]"
        return f"[{'^' if negate else ''}{body}]"

    def text_until_close(self) -> str:
        data: list[str] = []
        escaped = False
        while self.position < len(self.pattern):
            char = self.pattern[self.position]
            if not escaped and char == "\\":
                escaped = True
            elif not escaped and char == "]":
                break
            else:
                escaped = False
                data.append(char)
            self.position += 1
        return "".join(data)

    def alternatives(self) -> str:
        options: list[str] = []
        while True:
            options.append(self.sequence(in_braces=True))
            closing = self.pattern[self.position]
            self.position += 1
            if closing == "}":
                return f"(?:{'|'.join(options)})"


@lru_cache(maxsize=1024)
def compile_kind_pattern(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match pattern as a regex; GlobError (Go's ErrBadPattern) where Go refuses it."""
    out: list[str] = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        position += 1
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            regex, position = _go_class(pattern, position)
            out.append(regex)
        elif char == "\\":
            if position >= len(pattern):
                raise GlobError(f"{pattern!r}: it ends with a lone backslash")
            out.append(re.escape(pattern[position]))
            position += 1
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)


def _go_class(pattern: str, position: int) -> tuple[str, int]:
    negate = pattern.startswith("^", position)
    if negate:
        position += 1
    ranges: list[str] = []
    while True:
        if position < len(pattern) and pattern[position] == "]" and ranges:
            return f"[{'^' if negate else ''}{''.join(ranges)}]", position + 1
        low, position = _go_class_char(pattern, position)
        high = low
        if position < len(pattern) and pattern[position] == "-":
            high, position = _go_class_char(pattern, position + 1)
        if high < low:
            raise GlobError(f"{pattern!r}: the range {low}-{high} is backwards")
        ranges.append(f"{re.escape(low)}-{re.escape(high)}")


def _go_class_char(pattern: str, position: int) -> tuple[str, int]:
    if position >= len(pattern) or pattern[position] in "-]":
        raise GlobError(f"{pattern!r}: a '[' class is not closed or holds an empty range")
    if pattern[position] == "\\":
        position += 1
        if position >= len(pattern):
            raise GlobError(f"{pattern!r}: it ends with a lone backslash")
    return pattern[position], position + 1
