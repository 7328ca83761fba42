"""Tokens of expr-lang (github.com/expr-lang/expr, formerly antonmedv/expr), the language of
Argo CD Notifications' trigger conditions: as much of its lexer as the conditions in Argo CD's
catalog and documentation use, and a clear error for anything else."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from reconciler.core.errors import InputError


class Kind(Enum):
    NUMBER = "number"
    STRING = "string"
    IDENTIFIER = "identifier"
    OPERATOR = "operator"
    BRACKET = "bracket"
    END = "end"


@dataclass(frozen=True)
class Token:
    kind: Kind
    value: str
    position: int
    number: int | float | None = None


class ExprSyntaxError(InputError, ValueError):
    """The text is not an expression this evaluator reads; the message says where."""


# Longest first, so `**` is not read as two `*` and `?.` not as `?` and `.`.
_OPERATORS = (
    "?.", "??", "**", "==", "!=", "<=", ">=", "&&", "||", "..",
    "+", "-", "*", "/", "%", "^", "<", ">", "!", "?", ":", ",", ".",
)
_WORD_OPERATORS = frozenset({"and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith"})
_NUMBER = re.compile(r"0[xX][0-9a-fA-F_]+|(?:[0-9][0-9_]*)?\.?[0-9][0-9_]*(?:[eE][+-]?[0-9]+)?")
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    cursor = 0
    while cursor < len(text):
        char = text[cursor]
        if char in " \t\r\n":
            cursor += 1
        elif char in "'\"`":
            cursor = _string(text, cursor, tokens)
        elif char.isdigit() or (char == "." and text[cursor + 1 : cursor + 2].isdigit()):
            cursor = _number(text, cursor, tokens)
        elif char.isalpha() or char in "_$":
            match = _IDENTIFIER.match(text, cursor)
            assert match is not None
            word = match.group()
            kind = Kind.OPERATOR if word in _WORD_OPERATORS else Kind.IDENTIFIER
            tokens.append(Token(kind, word, cursor))
            cursor = match.end()
        elif char in "()[]{}":
            tokens.append(Token(Kind.BRACKET, char, cursor))
            cursor += 1
        else:
            operator = next((op for op in _OPERATORS if text.startswith(op, cursor)), None)
            if operator is None:
                raise ExprSyntaxError(f"unexpected character {char!r} at position {cursor + 1}")
            tokens.append(Token(Kind.OPERATOR, operator, cursor))
            cursor += len(operator)
    tokens.append(Token(Kind.END, "", len(text)))
    return tokens


def _number(text: str, cursor: int, tokens: list[Token]) -> int:
    match = _NUMBER.match(text, cursor)
    assert match is not None
    raw = match.group()
    if raw.endswith(".") or ".." in text[match.end() - 1 : match.end() + 1]:
        # `1..5` is a range: the number ends before the dots
        raw = raw.rstrip(".")
    cleaned = raw.replace("_", "")
    try:
        if cleaned.lower().startswith("0x"):
            value: int | float = int(cleaned, 16)
        elif any(c in cleaned for c in ".eE"):
            value = float(cleaned)
        else:
            value = int(cleaned)
    except ValueError:
        raise ExprSyntaxError(f"invalid number {raw!r} at position {cursor + 1}") from None
    tokens.append(Token(Kind.NUMBER, raw, cursor, value))
    return cursor + len(raw)


def _string(text: str, cursor: int, tokens: list[Token]) -> int:
    quote = text[cursor]
    if quote == "`":
        end = text.find("`", cursor + 1)
        if end < 0:
            raise ExprSyntaxError(f"unterminated string starting at position {cursor + 1}")
        tokens.append(Token(Kind.STRING, text[cursor + 1 : end], cursor))
        return end + 1
    out: list[str] = []
    index = cursor + 1
    while index < len(text):
        char = text[index]
        if char == quote:
            tokens.append(Token(Kind.STRING, "".join(out), cursor))
            return index + 1
        if char == "\\":
            index = _escape(text, index, out)
            continue
        out.append(char)
        index += 1
    raise ExprSyntaxError(f"unterminated string starting at position {cursor + 1}")


def _escape(text: str, index: int, out: list[str]) -> int:
    code = text[index + 1 : index + 2]
    if code in _ESCAPES:
        out.append(_ESCAPES[code])
        return index + 2
    for prefix, width in (("x", 2), ("u", 4), ("U", 8)):
        if code == prefix:
            digits = text[index + 2 : index + 2 + width]
            try:
                out.append(chr(int(digits, 16)))
            except ValueError:
                raise ExprSyntaxError(f"invalid escape \\{prefix}{digits} at position {index + 1}") from None
            return index + 2 + width
    raise ExprSyntaxError(f"invalid escape \\{code} at position {index + 1}")
