"""CRD validation rules (`x-kubernetes-validations`), evaluated with cel-python.

Per https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation-rules:
`self` is the value the rule sits on, `oldSelf` its previous value; a rule that mentions
`oldSelf` is a transition rule, checked only on updates where an old value exists. A failed
rule is `<path>: Invalid value: "<type>": <message>` where message is `message`, else the
result of `messageExpression`, else `failed rule: <rule>`; a rule on the root reports the
path `<nil>`, as the apiserver prints an empty field path. `fieldPath` moves the error. A rule
that fails to evaluate (a missing field, say) refuses the object too:
`<err> evaluating rule: <rule>`. cel-python lacks most Kubernetes CEL libraries; the common
string functions are added here, and a rule calling a function neither provides is skipped
(kubesim cannot judge it) rather than refusing a valid object.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import celpy

from kubesim.errors import FieldError

_OLD_SELF = re.compile(r"\boldSelf\b")
_NO_SUCH_MEMBER = re.compile(r"no such member in mapping: '([^']*)'")
_ENV = celpy.Environment()
_UNSUPPORTED = "undeclared reference"

# Kubernetes' CEL string library (k8s.io/apiserver/pkg/cel/library and cel-go ext.Strings).
_STRING_FUNCTIONS: dict[str, Any] = {
    "lowerAscii": lambda s: celpy.celtypes.StringType(str(s).lower()),
    "upperAscii": lambda s: celpy.celtypes.StringType(str(s).upper()),
    "trim": lambda s: celpy.celtypes.StringType(str(s).strip()),
    "split": lambda s, sep: celpy.celtypes.ListType([celpy.celtypes.StringType(p) for p in str(s).split(str(sep))]),
    "join": lambda items, sep="": celpy.celtypes.StringType(str(sep).join(str(i) for i in items)),
    "replace": lambda s, old, new: celpy.celtypes.StringType(str(s).replace(str(old), str(new))),
    "indexOf": lambda s, sub: celpy.celtypes.IntType(str(s).find(str(sub))),
    "lastIndexOf": lambda s, sub: celpy.celtypes.IntType(str(s).rfind(str(sub))),
}


@cache
def _program(expr: str) -> Any | None:
    try:
        return _ENV.program(_ENV.compile(expr), functions=_STRING_FUNCTIONS)
    except Exception:  # a rule the library cannot parse is skipped, not a crash of the request
        return None


class RuleError(Exception):
    """A rule that could not be evaluated, with the message cel-go would give."""


def _evaluate(expr: str, activation: dict[str, Any]) -> Any:
    program = _program(expr)
    if program is None:
        return None
    try:
        result = program.evaluate(activation)
    except Exception as exc:
        return _failure(exc)
    if isinstance(result, Exception):
        return _failure(result)
    return result


def _failure(exc: BaseException) -> None:
    text = str(exc.args[0]) if exc.args else str(exc)
    if text.startswith(_UNSUPPORTED):
        return None  # a function of a Kubernetes CEL library cel-python does not have
    missing = _NO_SUCH_MEMBER.search(text)
    raise RuleError(f"no such key: {missing.group(1)}" if missing else text.split(" (in activation", 1)[0])


def check(schema: dict[str, Any], value: Any, old: Any, has_old: bool, path: str, type_name: str
          ) -> list[FieldError]:
    errors: list[FieldError] = []
    activation: dict[str, Any] | None = None
    for rule in schema.get("x-kubernetes-validations") or []:
        expr = rule.get("rule") if isinstance(rule, dict) else None
        if not expr:
            continue
        transition = bool(_OLD_SELF.search(expr))
        if transition and not has_old:
            continue
        if activation is None:
            activation = {"self": celpy.json_to_cel(value)}
            if has_old:
                activation["oldSelf"] = celpy.json_to_cel(old)
        field_path = (path + str(rule.get("fieldPath") or "")).lstrip(".") or "<nil>"
        try:
            result = _evaluate(expr, activation)
        except RuleError as exc:
            errors.append(FieldError(field_path, f'Invalid value: "{type_name}": {exc} evaluating rule: {expr}'))
            continue
        if result is None or bool(result):
            continue
        message = rule.get("message")
        if not message and rule.get("messageExpression"):
            try:
                evaluated = _evaluate(rule["messageExpression"], activation)
            except RuleError:
                evaluated = None
            message = str(evaluated) if evaluated is not None else ""
        if not message:
            message = f"failed rule: {expr}"
        errors.append(FieldError(field_path, f'Invalid value: "{type_name}": {message}'))
    return errors
