"""Running a trigger condition: a tree walk over plain data, with no access to anything but
the variables given (`app`) and the helpers of functions.py. Compiling checks every name,
function and method the expression uses, so what this evaluator cannot run is refused when
the configuration loads, never found out later."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from reconciler.control.notifications.expr.functions import BUILTINS, NAMESPACES, NOT_SUPPORTED
from reconciler.control.notifications.expr.lexer import ExprSyntaxError
from reconciler.control.notifications.expr.parser import (
    ArrayLiteral,
    Binary,
    Call,
    Chain,
    Conditional,
    Index,
    Literal,
    MapLiteral,
    Member,
    Name,
    Node,
    Slice,
    Unary,
    parse,
)
from reconciler.control.notifications.expr.values import (
    METHODS,
    Duration,
    ExprError,
    GoTime,
    type_name,
)

_MAX_RANGE = 10_000  # `1..n` builds a list: keep a condition from building a huge one


class ExprRefused(ValueError):
    """The expression uses something this evaluator does not support (or is not an expression)."""


@dataclass(frozen=True)
class Namespace:
    name: str
    members: Mapping[str, Any]


@dataclass(frozen=True)
class Program:
    text: str
    tree: Node
    uses_now: bool  # time.Now() or now(): its value changes with nothing else changing

    def run(self, variables: Mapping[str, Any]) -> Any:
        return _Evaluator(variables).eval(self.tree)


def compile_expression(text: str, variables: Iterable[str] = ("app",)) -> Program:
    """Parse and check `text`; ExprRefused says what is wrong or unsupported."""
    return _compile(text, tuple(sorted(variables)))


@lru_cache(maxsize=1024)
def _compile(text: str, variables: tuple[str, ...]) -> Program:
    try:
        tree = parse(text)
    except ExprSyntaxError as err:
        raise ExprRefused(f"syntax error: {err}") from None
    checker = _Checker(set(variables))
    checker.check(tree)
    return Program(text, tree, checker.uses_now)


class _Checker:
    def __init__(self, variables: set[str]) -> None:
        self.variables = variables
        self.uses_now = False

    def check(self, node: Node) -> None:
        if isinstance(node, Call):
            self._call(node)
        elif isinstance(node, Member) and isinstance(node.target, Name) and node.target.name in _NAMESPACE_NAMES:
            self._namespace_member(node.target.name, node.name, called=False)
        elif isinstance(node, Name):
            self._name(node.name)
        else:
            for child in _children(node):
                self.check(child)

    def _name(self, name: str) -> None:
        if name in self.variables:
            return
        if name in _NAMESPACE_NAMES:
            raise ExprRefused(f"{name!r} is a namespace of functions: use one of its members, e.g. {name}.X")
        if name in BUILTINS:
            raise ExprRefused(f"{name!r} is a function: call it, e.g. {name}(...)")
        known = ", ".join(sorted(self.variables))
        raise ExprRefused(f"unknown name {name!r} (a condition sees {known} and the time, strings, repo helpers)")

    def _call(self, node: Call) -> None:
        callee = node.callee
        if isinstance(callee, Name) and callee.name not in self.variables:
            if callee.name not in BUILTINS:
                known = ", ".join(sorted(BUILTINS))
                raise ExprRefused(f"function {callee.name}() is not supported (supported: {known})")
            self.uses_now = self.uses_now or callee.name == "now"
        elif isinstance(callee, Member) and isinstance(callee.target, Name) and callee.target.name in _NAMESPACE_NAMES:
            self._namespace_member(callee.target.name, callee.name, called=True)
        elif isinstance(callee, Member):
            if callee.name not in METHODS:
                raise ExprRefused(f"method {callee.name}() is not supported (supported: {', '.join(sorted(METHODS))})")
            self.check(callee.target)
        else:
            raise ExprRefused("only functions, helpers and methods can be called")
        for arg in node.args:
            self.check(arg)

    def _namespace_member(self, namespace: str, member: str, *, called: bool) -> None:
        qualified = f"{namespace}.{member}"
        if qualified in NOT_SUPPORTED:
            raise ExprRefused(f"{qualified} is not supported: {NOT_SUPPORTED[qualified]}")
        members = NAMESPACES.get(namespace, {})
        if member not in members:
            known = ", ".join(sorted(members)) or "none"
            raise ExprRefused(f"{qualified} is not supported ({namespace} has: {known})")
        if callable(members[member]) != called:
            raise ExprRefused(f"{qualified} must {'not ' if not called else ''}be called")
        self.uses_now = self.uses_now or qualified == "time.Now"


_NAMESPACE_NAMES = frozenset(NAMESPACES) | {"sync"}


def _children(node: Node) -> list[Node]:
    if isinstance(node, Member | Chain):
        return [node.target if isinstance(node, Member) else node.inner]
    if isinstance(node, Index):
        return [node.target, node.index]
    if isinstance(node, Slice):
        return [n for n in (node.target, node.low, node.high) if n is not None]
    if isinstance(node, Unary):
        return [node.operand]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, Conditional):
        return [node.condition, node.then, node.otherwise]
    if isinstance(node, ArrayLiteral):
        return list(node.items)
    if isinstance(node, MapLiteral):
        return [n for pair in node.pairs for n in pair]
    return []


class _NilInChain(Exception):
    """A `?.` met nil: the enclosing Chain evaluates to nil."""


class _Evaluator:
    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.variables = variables

    def eval(self, node: Node) -> Any:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    def _literal(self, node: Literal) -> Any:
        return node.value

    def _name(self, node: Name) -> Any:
        if node.name in self.variables:
            return self.variables[node.name]
        if node.name in NAMESPACES:
            return Namespace(node.name, NAMESPACES[node.name])
        raise ExprError(f"unknown name {node.name!r}")

    def _chain(self, node: Chain) -> Any:
        try:
            return self.eval(node.inner)
        except _NilInChain:
            return None

    def _member(self, node: Member) -> Any:
        return _fetch(self.eval(node.target), node.name, node.optional)

    def _index(self, node: Index) -> Any:
        return _fetch(self.eval(node.target), self.eval(node.index), node.optional)

    def _slice(self, node: Slice) -> Any:
        target = self.eval(node.target)
        if not isinstance(target, list | str):
            raise ExprError(f"cannot slice {type_name(target)}")
        low = 0 if node.low is None else self.eval(node.low)
        high = len(target) if node.high is None else self.eval(node.high)
        return target[low:high]

    def _call(self, node: Call) -> Any:
        args = [self.eval(arg) for arg in node.args]
        callee = node.callee
        if isinstance(callee, Name) and callee.name not in self.variables:
            function: Callable[..., Any] = BUILTINS[callee.name]
        else:
            assert isinstance(callee, Member)
            target = self.eval(callee.target)
            if isinstance(target, Namespace):
                function = target.members[callee.name]
            elif isinstance(target, GoTime | Duration) and callee.name in METHODS and hasattr(target, callee.name):
                function = getattr(target, callee.name)
            elif target is None and callee.optional:
                raise _NilInChain()
            else:
                raise ExprError(f"{type_name(target)} has no method {callee.name}")
        try:
            return function(*args)
        except TypeError as err:
            raise ExprError(f"{_callee_text(callee)}: {err}") from None

    def _unary(self, node: Unary) -> Any:
        value = self.eval(node.operand)
        if node.op == "not":
            return not _bool(value, "not")
        if isinstance(value, Duration):
            return Duration(-value.nanoseconds) if node.op == "-" else value
        if not _is_number(value):
            raise ExprError(f"invalid operation: {node.op}{type_name(value)}")
        return -value if node.op == "-" else value

    def _binary(self, node: Binary) -> Any:
        if node.op in ("and", "or"):
            left = _bool(self.eval(node.left), node.op)
            if left == (node.op == "or"):
                return left
            return _bool(self.eval(node.right), node.op)
        if node.op == "??":
            left = self.eval(node.left)
            return left if left is not None else self.eval(node.right)
        return binary(node.op, self.eval(node.left), self.eval(node.right))

    def _conditional(self, node: Conditional) -> Any:
        branch = node.then if _bool(self.eval(node.condition), "?:") else node.otherwise
        return self.eval(branch)

    def _arrayliteral(self, node: ArrayLiteral) -> list[Any]:
        return [self.eval(item) for item in node.items]

    def _mapliteral(self, node: MapLiteral) -> dict[Any, Any]:
        return {self.eval(key): self.eval(value) for key, value in node.pairs}


def _callee_text(callee: Node) -> str:
    if isinstance(callee, Name):
        return callee.name
    if isinstance(callee, Member):
        return callee.name
    return "call"


def _fetch(target: Any, key: Any, optional: bool) -> Any:
    if target is None:
        if optional:
            raise _NilInChain()
        raise ExprError(f"cannot fetch {key} from nil")
    if isinstance(target, dict):
        return target.get(key)
    if isinstance(target, Namespace):
        if key not in target.members:
            raise ExprError(f"{target.name}.{key} does not exist")
        return target.members[key]
    if isinstance(target, list | str) and isinstance(key, int) and not isinstance(key, bool):
        index = key + len(target) if key < 0 else key
        if not 0 <= index < len(target):
            raise ExprError(f"index out of range: {key} (length {len(target)})")
        return target[index]
    raise ExprError(f"cannot fetch {key!r} from {type_name(target)}")


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ExprError(f"{where}: expected a bool, got {type_name(value)}")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def equal(left: Any, right: Any) -> bool:
    """expr-lang's `==`: numbers by value across int and float, everything else deeply."""
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(equal(left[k], right[k]) for k in left)
    return bool(left == right)


_COMPARE = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}


def binary(op: str, left: Any, right: Any) -> Any:
    if op == "==":
        return equal(left, right)
    if op == "!=":
        return not equal(left, right)
    if op in _COMPARE:
        return _compare(op, left, right)
    if op == "in":
        return _contains(right, left)
    if op in ("matches", "contains", "startsWith", "endsWith"):
        return _string_operator(op, left, right)
    if op == "..":
        if not (isinstance(left, int) and isinstance(right, int)) or right - left > _MAX_RANGE:
            raise ExprError(f"invalid range {left!r}..{right!r}")
        return list(range(left, right + 1))
    return _arithmetic(op, left, right)


def _compare(op: str, left: Any, right: Any) -> bool:
    comparable = (
        (_is_number(left) and _is_number(right))
        or (isinstance(left, str) and isinstance(right, str))
        or (isinstance(left, GoTime) and isinstance(right, GoTime))
        or (isinstance(left, Duration) and isinstance(right, Duration))
    )
    if not comparable:
        raise ExprError(f"invalid operation: {type_name(left)} {op} {type_name(right)}")
    if isinstance(left, GoTime):
        return bool(_COMPARE[op](left.value, right.value))
    return bool(_COMPARE[op](left, right))


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, list):
        return any(equal(item, element) for element in container)
    if isinstance(container, dict):
        return item in container
    raise ExprError(f"invalid operation: {type_name(item)} in {type_name(container)}")


def _string_operator(op: str, left: Any, right: Any) -> bool:
    if not (isinstance(left, str) and isinstance(right, str)):
        raise ExprError(f"invalid operation: {type_name(left)} {op} {type_name(right)}")
    if op == "matches":
        try:
            return re.search(right, left) is not None
        except re.error as err:
            raise ExprError(f"matches: invalid regular expression {right!r}: {err}") from None
    if op == "contains":
        return right in left
    return left.startswith(right) if op == "startsWith" else left.endswith(right)


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, GoTime | Duration) or isinstance(right, GoTime | Duration):
        return _time_arithmetic(op, left, right)
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if op == "+" and isinstance(left, list) and isinstance(right, list):
        return left + right
    if not (_is_number(left) and _is_number(right)):
        raise ExprError(f"invalid operation: {type_name(left)} {op} {type_name(right)}")
    try:
        if op == "/":
            return left / right
        if op == "%":
            if not (isinstance(left, int) and isinstance(right, int)):
                raise ExprError("invalid operation: % needs whole numbers")
            return int(left - right * int(left / right))  # Go's % keeps the sign of the dividend
        if op == "**":
            return float(left**right)
    except ZeroDivisionError:
        raise ExprError("integer divide by zero") from None
    return {"+": operator.add, "-": operator.sub, "*": operator.mul}[op](left, right)


def _time_arithmetic(op: str, left: Any, right: Any) -> Any:
    if op == "+" and isinstance(left, GoTime) and isinstance(right, Duration):
        return left.Add(right)
    if op == "+" and isinstance(left, Duration) and isinstance(right, GoTime):
        return right.Add(left)
    if op == "-" and isinstance(left, GoTime) and isinstance(right, GoTime):
        return left.Sub(right)
    if op == "-" and isinstance(left, GoTime) and isinstance(right, Duration):
        return left.Add(Duration(-right.nanoseconds))
    if op in ("+", "-") and isinstance(left, Duration) and isinstance(right, Duration):
        sign = 1 if op == "+" else -1
        return Duration(left.nanoseconds + sign * right.nanoseconds)
    if op == "*" and isinstance(right, Duration) and _is_number(left):
        return Duration(round(left * right.nanoseconds))
    if op == "*" and isinstance(left, Duration) and _is_number(right):
        return Duration(round(left.nanoseconds * right))
    if op == "/" and isinstance(left, Duration) and isinstance(right, Duration) and right.nanoseconds:
        return left.nanoseconds / right.nanoseconds
    raise ExprError(f"invalid operation: {type_name(left)} {op} {type_name(right)}")
