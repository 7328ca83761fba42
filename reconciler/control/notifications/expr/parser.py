"""expr-lang's grammar, as a small Pratt parser into plain dataclasses.

Operator precedence is expr-lang's own (parser/operator in github.com/expr-lang/expr):
`or ||` 10, `and &&` 15, comparisons, `in`, `matches`, `contains`, `startsWith`,
`endsWith` 20, `..` 25, `+ -` 30, `not !` (unary) 50, `* / %` 60, unary `- +` 90,
`** ^` 100 (right), `??` 500; `a ? b : c` binds loosest. Member access (`.`, `?.`),
indexing, slicing and calls are postfix and bind tightest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.control.notifications.expr.lexer import ExprSyntaxError, Kind, Token, tokenize


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Member:
    target: Node
    name: str
    optional: bool = False


@dataclass(frozen=True)
class Index:
    target: Node
    index: Node
    optional: bool = False


@dataclass(frozen=True)
class Slice:
    target: Node
    low: Node | None
    high: Node | None


@dataclass(frozen=True)
class Call:
    callee: Node
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Conditional:
    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True)
class Chain:
    """A run of member accesses, indexes and calls holding a `?.`: when a `?.` meets nil the
    whole run is nil, as in expr-lang (`a?.b.c` is nil when `a` is)."""

    inner: Node


@dataclass(frozen=True)
class ArrayLiteral:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class MapLiteral:
    pairs: tuple[tuple[Node, Node], ...]


Node = Literal | Name | Member | Index | Slice | Call | Unary | Binary | Conditional | Chain | ArrayLiteral | MapLiteral

BINARY = {
    "or": (10, "left"), "||": (10, "left"),
    "and": (15, "left"), "&&": (15, "left"),
    "==": (20, "left"), "!=": (20, "left"), "<": (20, "left"), ">": (20, "left"),
    ">=": (20, "left"), "<=": (20, "left"), "in": (20, "left"), "matches": (20, "left"),
    "contains": (20, "left"), "startsWith": (20, "left"), "endsWith": (20, "left"),
    "..": (25, "left"),
    "+": (30, "left"), "-": (30, "left"),
    "*": (60, "left"), "/": (60, "left"), "%": (60, "left"),
    "**": (100, "right"), "^": (100, "right"),
    "??": (500, "left"),
}
UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
# Spellings with the same meaning, folded so the evaluator knows one of each.
_ALIASES = {"||": "or", "&&": "and", "!": "not", "^": "**"}
_LITERAL_NAMES = {"true": True, "false": False, "nil": None}


def parse(text: str) -> Node:
    """The syntax tree of `text`; ExprSyntaxError names the position of the first problem."""
    if not text.strip():
        raise ExprSyntaxError("the expression is empty")
    parser = _Parser(tokenize(text))
    node = parser.expression(0)
    parser.expect_end()
    return node


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.at]

    def advance(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def is_(self, kind: Kind, value: str | None = None) -> bool:
        token = self.current
        return token.kind is kind and (value is None or token.value == value)

    def expect(self, kind: Kind, value: str) -> Token:
        if not self.is_(kind, value):
            raise self.error(f"expected {value!r}")
        return self.advance()

    def expect_end(self) -> None:
        if not self.is_(Kind.END):
            raise self.error("unexpected token")

    def error(self, message: str) -> ExprSyntaxError:
        token = self.current
        shown = repr(token.value) if token.kind is not Kind.END else "the end"
        return ExprSyntaxError(f"{message} at position {token.position + 1} (found {shown})")

    def expression(self, precedence: int) -> Node:
        node = self.unary()
        while True:
            token = self.current
            if token.kind is Kind.OPERATOR and token.value == "not" and self._next_is_in():
                if BINARY["in"][0] < precedence:
                    break
                self.advance()
                self.advance()
                node = Unary("not", Binary("in", node, self.expression(BINARY["in"][0] + 1)))
                continue
            if token.kind is not Kind.OPERATOR or token.value not in BINARY:
                break
            level, associativity = BINARY[token.value]
            if level < precedence:
                break
            self.advance()
            right = self.expression(level if associativity == "right" else level + 1)
            node = Binary(_ALIASES.get(token.value, token.value), node, right)
        if precedence == 0 and self.is_(Kind.OPERATOR, "?"):
            self.advance()
            then = self.expression(0)
            self.expect(Kind.OPERATOR, ":")
            node = Conditional(node, then, self.expression(0))
        return node

    def _next_is_in(self) -> bool:
        following = self.tokens[self.at + 1]
        return following.kind is Kind.OPERATOR and following.value == "in"

    def unary(self) -> Node:
        token = self.current
        if token.kind is Kind.OPERATOR and token.value in UNARY:
            self.advance()
            operand = self.expression(UNARY[token.value])
            return Unary(_ALIASES.get(token.value, token.value), operand)
        return self.postfix(self.primary())

    def primary(self) -> Node:
        token = self.advance()
        if token.kind is Kind.NUMBER:
            return Literal(token.number)
        if token.kind is Kind.STRING:
            return Literal(token.value)
        if token.kind is Kind.IDENTIFIER:
            if token.value in _LITERAL_NAMES:
                return Literal(_LITERAL_NAMES[token.value])
            return Name(token.value)
        if token.kind is Kind.BRACKET and token.value == "(":
            node = self.expression(0)
            self.expect(Kind.BRACKET, ")")
            return node
        if token.kind is Kind.BRACKET and token.value == "[":
            return ArrayLiteral(tuple(self.items("]")))
        if token.kind is Kind.BRACKET and token.value == "{":
            return self.map_literal()
        self.at -= 1
        raise self.error("expected a value")

    def items(self, closing: str) -> list[Node]:
        items: list[Node] = []
        while not self.is_(Kind.BRACKET, closing):
            items.append(self.expression(0))
            if not self.is_(Kind.OPERATOR, ","):
                break
            self.advance()
        self.expect(Kind.BRACKET, closing)
        return items

    def map_literal(self) -> MapLiteral:
        pairs: list[tuple[Node, Node]] = []
        while not self.is_(Kind.BRACKET, "}"):
            key_token = self.current
            if key_token.kind in (Kind.IDENTIFIER, Kind.STRING, Kind.NUMBER):
                self.advance()
                key: Node = Literal(key_token.number if key_token.kind is Kind.NUMBER else key_token.value)
            else:
                key = self.expression(0)
            self.expect(Kind.OPERATOR, ":")
            pairs.append((key, self.expression(0)))
            if not self.is_(Kind.OPERATOR, ","):
                break
            self.advance()
        self.expect(Kind.BRACKET, "}")
        return MapLiteral(tuple(pairs))

    def postfix(self, node: Node) -> Node:
        optional_seen = False
        while True:
            if self.is_(Kind.OPERATOR, ".") or self.is_(Kind.OPERATOR, "?."):
                optional = self.advance().value == "?."
                optional_seen = optional_seen or optional
                if optional and self.is_(Kind.BRACKET, "["):
                    self.advance()
                    node = Index(node, self.expression(0), optional=True)
                    self.expect(Kind.BRACKET, "]")
                    continue
                name = self.advance()
                if name.kind not in (Kind.IDENTIFIER, Kind.OPERATOR) or not name.value.isidentifier():
                    self.at -= 1
                    raise self.error("expected a field name")
                node = Member(node, name.value, optional)
            elif self.is_(Kind.BRACKET, "["):
                self.advance()
                node = self.subscript(node)
            elif self.is_(Kind.BRACKET, "("):
                self.advance()
                node = Call(node, tuple(self.items(")")))
            else:
                return Chain(node) if optional_seen else node

    def subscript(self, node: Node) -> Node:
        low = None if self.is_(Kind.OPERATOR, ":") else self.expression(0)
        if self.is_(Kind.OPERATOR, ":"):
            self.advance()
            high = None if self.is_(Kind.BRACKET, "]") else self.expression(0)
            self.expect(Kind.BRACKET, "]")
            return Slice(node, low, high)
        self.expect(Kind.BRACKET, "]")
        assert low is not None
        return Index(node, low)
