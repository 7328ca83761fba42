"""Label and annotation validation of every object's metadata (built-in kinds and custom
resources alike), with the API server's messages.

Follows k8s.io/apimachinery: pkg/apis/meta/v1/validation `ValidateLabels` (each key a qualified
name, each value a label value), pkg/api/validation `ValidateAnnotations` (each key, lower-cased,
a qualified name; keys and values together at most 256 KiB) and pkg/util/validation
`IsQualifiedName` / `IsValidLabelValue`. As there, every error is on the map's path
(`metadata.labels`), with the offending key or value as the bad value.
"""

from __future__ import annotations

import re
from typing import Any

from kubesim.errors import FieldError

_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME = re.compile(f"^{_QUALIFIED_NAME_FMT}$")
_LABEL_VALUE_FMT = f"({_QUALIFIED_NAME_FMT})?"
_LABEL_VALUE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_SUBDOMAIN_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_SUBDOMAIN = re.compile(f"^{_SUBDOMAIN_FMT}$")

QUALIFIED_NAME_MAX_LENGTH = 63
LABEL_VALUE_MAX_LENGTH = 63
SUBDOMAIN_MAX_LENGTH = 253
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    """apimachinery's RegexError: the rule, examples, and the regular expression used."""
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


_QUALIFIED_NAME_MSG = _regex_error(
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc",
)
_LABEL_VALUE_MSG = _regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character",
    _LABEL_VALUE_FMT, "MyValue", "my_value", "12345",
)
_SUBDOMAIN_MSG = _regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character",
    _SUBDOMAIN_FMT, "example.com",
)


def _max_length(limit: int) -> str:
    return f"must be no more than {limit} characters"


def qualified_name_problems(value: str) -> list[str]:
    """IsQualifiedName: `[prefix/]name`, the prefix a DNS subdomain, the name at most 63 characters."""
    parts = value.split("/")
    problems: list[str] = []
    if len(parts) > 2:
        return [f"a qualified name {_QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            if len(prefix.encode()) > SUBDOMAIN_MAX_LENGTH:
                problems.append(f"prefix part {_max_length(SUBDOMAIN_MAX_LENGTH)}")
            if not _SUBDOMAIN.match(prefix):
                problems.append(f"prefix part {_SUBDOMAIN_MSG}")
    if not name:
        problems.append("name part must be non-empty")
    elif len(name.encode()) > QUALIFIED_NAME_MAX_LENGTH:
        problems.append(f"name part {_max_length(QUALIFIED_NAME_MAX_LENGTH)}")
    if not _QUALIFIED_NAME.match(name):
        problems.append(f"name part {_QUALIFIED_NAME_MSG}")
    return problems


def label_value_problems(value: str) -> list[str]:
    """IsValidLabelValue: empty, or at most 63 alphanumerics, '-', '_', '.' starting and ending alphanumeric."""
    problems = [_max_length(LABEL_VALUE_MAX_LENGTH)] if len(value.encode()) > LABEL_VALUE_MAX_LENGTH else []
    if not _LABEL_VALUE.match(value):
        problems.append(_LABEL_VALUE_MSG)
    return problems


def label_errors(labels: Any, at: str) -> list[FieldError]:
    if not isinstance(labels, dict):
        return []
    errors: list[FieldError] = []
    for key in sorted(labels):
        value = labels[key]
        errors.extend(FieldError.invalid(at, key, problem) for problem in qualified_name_problems(str(key)))
        if isinstance(value, str):
            errors.extend(FieldError.invalid(at, value, problem) for problem in label_value_problems(value))
    return errors


def annotation_errors(annotations: Any, at: str) -> list[FieldError]:
    if not isinstance(annotations, dict):
        return []
    errors: list[FieldError] = []
    for key in sorted(annotations):
        # "The rule is QualifiedName except that case doesn't matter" (ValidateAnnotations).
        errors.extend(FieldError.invalid(at, key, problem) for problem in qualified_name_problems(str(key).lower()))
    size = sum(len(str(key).encode()) + len(str(value).encode()) for key, value in annotations.items())
    if size > TOTAL_ANNOTATION_SIZE_LIMIT:
        errors.append(FieldError(at, f"Too long: must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes"))
    return errors


def metadata_errors(metadata: Any, at: str = "metadata") -> list[FieldError]:
    """The label and annotation errors of an ObjectMeta at path `at` (`metadata`, or a pod
    template's `spec.template.metadata`)."""
    if not isinstance(metadata, dict):
        return []
    return label_errors(metadata.get("labels"), f"{at}.labels") + annotation_errors(
        metadata.get("annotations"), f"{at}.annotations"
    )
