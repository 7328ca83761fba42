"""Go text/template split into text and actions, each action into tokens, losslessly.

Only as much of Go's lexer (text/template/parse/lex.go) as the rewrites in `rewrite.py`
need: where actions start and end (with `{{-` / `-}}` trim markers), comments, and inside
an action strings, raw strings, characters, fields, variables, identifiers and the
punctuation of pipelines. Joining every piece's `text` gives back the template exactly, so
whatever a rewrite leaves alone reaches Go's own parser unchanged, and Go reports the errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from reconciler.core.errors import InputError


class TokenKind(Enum):
    SPACE = "space"
    STRING = "string"  # "..." , `...` or '.'
    NUMBER = "number"
    FIELD = "field"  # .name (a chain is several FIELD tokens in a row)
    DOT = "dot"  # . alone
    VARIABLE = "variable"  # $ or $name
    IDENTIFIER = "identifier"  # functions and keywords (if, range, end, ...)
    LEFT_PAREN = "("
    RIGHT_PAREN = ")"
    PIPE = "|"
    DECLARE = ":="
    ASSIGN = "="
    COMMA = ","
    OTHER = "other"  # anything else: Go's parser will say what is wrong with it


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str


@dataclass(frozen=True)
class Action:
    """`{{ ... }}`: `opening` is `{{` or `{{- `, `closing` is `}}` or ` -}}`."""

    opening: str
    tokens: tuple[Token, ...]
    closing: str

    @property
    def text(self) -> str:
        return self.opening + "".join(token.text for token in self.tokens) + self.closing


@dataclass(frozen=True)
class Text:
    text: str


class LexError(InputError, ValueError):
    """The template's actions cannot be told apart (an unclosed `{{`, string or comment)."""


_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|`[^`]*`|'(?:[^'\\\n]|\\.)*')
  | (?P<number>[+-]?(?:0[xXoObB][0-9a-fA-F_]+|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+)i?)
  | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<dot>\.)
  | (?P<variable>\$[A-Za-z0-9_]*)
  | (?P<identifier>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<declare>:=)
  | (?P<single>[()|=,])
  """,
    re.VERBOSE,
)
_SINGLE = {
    "(": TokenKind.LEFT_PAREN,
    ")": TokenKind.RIGHT_PAREN,
    "|": TokenKind.PIPE,
    "=": TokenKind.ASSIGN,
    ",": TokenKind.COMMA,
}
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def split_template(source: str) -> list[Text | Action]:
    """The template as text pieces and actions, in order; comments stay text."""
    pieces: list[Text | Action] = []
    position = 0
    while True:
        start = source.find("{{", position)
        if start < 0:
            pieces.append(Text(source[position:]))
            return pieces
        pieces.append(Text(source[position:start]))
        position = _read_action(source, start, pieces)


def _read_action(source: str, start: int, pieces: list[Text | Action]) -> int:
    opening = "{{"
    cursor = start + 2
    if source.startswith("- ", cursor) or source.startswith("-\t", cursor) or source.startswith("-\n", cursor):
        opening = source[start : cursor + 2]
        cursor += 2
    comment = _COMMENT.match(source, _skip_space(source, cursor))
    if comment:
        end = source.find("}}", comment.end())
        if end < 0:
            raise LexError("unclosed comment")
        pieces.append(Text(source[start : end + 2]))
        return end + 2
    tokens: list[Token] = []
    while True:
        if source.startswith("}}", cursor):
            closing = "}}"
            break
        if source[cursor : cursor + 1] in (" ", "\t", "\n") and source.startswith("-}}", cursor + 1):
            closing = source[cursor : cursor + 4]
            break
        match = _TOKEN.match(source, cursor)
        if match is None:
            if cursor >= len(source):
                raise LexError("unclosed action")
            tokens.append(Token(TokenKind.OTHER, source[cursor]))
            cursor += 1
            continue
        tokens.append(_token_of(match))
        cursor = match.end()
    pieces.append(Action(opening, tuple(tokens), closing))
    return cursor + len(closing)


def _skip_space(source: str, cursor: int) -> int:
    while cursor < len(source) and source[cursor] in " \t\r\n":
        cursor += 1
    return cursor


def _token_of(match: re.Match[str]) -> Token:
    group = match.lastgroup or "other"
    text = match.group()
    if group == "single":
        return Token(_SINGLE[text], text)
    if group == "declare":
        return Token(TokenKind.DECLARE, text)
    return Token(TokenKind(group), text)
