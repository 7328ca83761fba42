"""The generators of an ApplicationSet, checked field by field: every field this system handles
is read with its type, and every other field is refused by name (a generator Argo CD has and
this system does not run, such as `plugin`, is refused with what to use instead).

The checks are structural: a matrix's second generator may hold `{{...}}` placeholders the
first generator's parameters fill in, so values are checked for their type, not their content.
"""

from __future__ import annotations

from typing import Any

from reconciler.model.yaml_reader import FieldReader, describe_value

GENERATOR_KINDS = ("list", "clusters", "git", "matrix", "merge", "pullRequest", "scmProvider")

_UNSUPPORTED_GENERATORS = {
    "plugin": "plugin generators (a ConfigMap naming an HTTP service) are not supported",
    "clusterDecisionResource": "the cluster decision resource generator is not supported",
}

_TOKEN_REF = {"secretName": str, "key": str}

# Field -> type (str, bool, int, list, dict, or a nested field table) per generator. A nested
# table is checked the same way; `None` marks a field refused by name with a reason.
_PR_FILTER = {"branchMatch": str, "targetBranchMatch": str, "titleMatch": str}
_SCM_FILTER = {
    "repositoryMatch": str,
    "pathsExist": list,
    "pathsDoNotExist": list,
    "labelMatch": str,
    "branchMatch": str,
}

_PULL_REQUEST_PROVIDERS: dict[str, dict[str, Any]] = {
    "github": {
        "owner": str,
        "repo": str,
        "api": str,
        "tokenRef": _TOKEN_REF,
        "labels": list,
        "appSecretName": "GitHub App authentication is not supported; use tokenRef (a personal access token)",
    },
    "gitlab": {
        "project": str,
        "api": str,
        "tokenRef": _TOKEN_REF,
        "labels": list,
        "pullRequestState": str,
        "insecure": bool,
        "caRef": "caRef is not supported; use a CA the system trusts",
    },
    "gitea": {"owner": str, "repo": str, "api": str, "tokenRef": _TOKEN_REF, "insecure": bool, "labels": list},
    "bitbucketServer": {
        "project": str,
        "repo": str,
        "api": str,
        "insecure": bool,
        "basicAuth": {"username": str, "passwordRef": _TOKEN_REF},
        "bearerToken": {"tokenRef": _TOKEN_REF},
        "caRef": "caRef is not supported; use a CA the system trusts",
    },
}
_PULL_REQUEST_UNSUPPORTED = ("bitbucket", "azuredevops", "azureDevOps", "awsCodeCommit")

_SCM_PROVIDERS: dict[str, dict[str, Any]] = {
    "github": {
        "organization": str,
        "api": str,
        "tokenRef": _TOKEN_REF,
        "allBranches": bool,
        "appSecretName": "GitHub App authentication is not supported; use tokenRef (a personal access token)",
    },
    "gitlab": {
        "group": str,
        "api": str,
        "tokenRef": _TOKEN_REF,
        "allBranches": bool,
        "includeSubgroups": bool,
        "includeSharedProjects": bool,
        "topic": str,
        "insecure": bool,
        "caRef": "caRef is not supported; use a CA the system trusts",
    },
}
_SCM_UNSUPPORTED = ("gitea", "bitbucket", "bitbucketServer", "azureDevOps", "awsCodeCommit")

_PATH_ITEM = {"path": str, "exclude": bool}


def _check_fields(r: FieldReader, obj: Any, table: dict[str, Any], path: str) -> None:
    if not isinstance(obj, dict):
        r.problem(path, f"must be a mapping of fields, found {describe_value(obj)}")
        return
    for key, value in obj.items():
        expected = table.get(key)
        field_path = f"{path}.{key}"
        if key not in table:
            known = ", ".join(sorted(k for k, v in table.items() if not isinstance(v, str)))
            r.problem(field_path, f"is not a field this system handles here (known: {known}); remove it")
        elif isinstance(expected, str):
            r.problem(field_path, expected)
        elif isinstance(expected, dict):
            _check_fields(r, value, expected, field_path)
        elif value is not None and not _has_type(value, expected):
            r.problem(field_path, f"must be {_type_name(expected)}, found {describe_value(value)}")


def _has_type(value: Any, expected: type) -> bool:
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _type_name(expected: type) -> str:
    return {str: "a string", bool: "true or false", int: "a whole number", list: "a list", dict: "a mapping"}[
        expected
    ]


def check_selector(r: FieldReader, selector: Any, path: str) -> None:
    """A Kubernetes label selector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist)."""
    _check_fields(r, selector, {"matchLabels": dict, "matchExpressions": list}, path)
    if not isinstance(selector, dict):
        return
    for index, expression in enumerate(selector.get("matchExpressions") or []):
        item = f"{path}.matchExpressions[{index}]"
        _check_fields(r, expression, {"key": str, "operator": str, "values": list}, item)
        if isinstance(expression, dict):
            operator = expression.get("operator")
            if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
                r.problem(f"{item}.operator", f"must be In, NotIn, Exists or DoesNotExist, found {operator!r}")
            if not expression.get("key"):
                r.problem(f"{item}.key", "required: the parameter (or label) to select on")


def _check_template(r: FieldReader, template: Any, path: str) -> None:
    if template is None:
        return
    _check_fields(r, template, {"metadata": dict, "spec": dict}, path)


def _check_list(r: FieldReader, gen: dict[str, Any], path: str) -> None:
    _check_fields(r, gen, {"elements": list, "elementsYaml": str, "template": dict}, path)
    for index, element in enumerate(gen.get("elements") or []):
        if not isinstance(element, dict):
            r.problem(
                f"{path}.elements[{index}]", f"must be a mapping of parameters, found {describe_value(element)}"
            )


def _check_clusters(r: FieldReader, gen: dict[str, Any], path: str) -> None:
    _check_fields(r, gen, {"selector": dict, "values": dict, "template": dict, "flatList": bool}, path)
    if isinstance(gen.get("selector"), dict):
        check_selector(r, gen["selector"], f"{path}.selector")


def _check_git(r: FieldReader, gen: dict[str, Any], path: str) -> None:
    table = {
        "repoURL": str,
        "revision": str,
        "directories": list,
        "files": list,
        "pathParamPrefix": str,
        "values": dict,
        "requeueAfterSeconds": int,
        "template": dict,
    }
    _check_fields(r, gen, table, path)
    if not gen.get("repoURL"):
        r.problem(f"{path}.repoURL", "required: the repository whose directories or files generate parameters")
    directories, files = gen.get("directories") or [], gen.get("files") or []
    if bool(directories) == bool(files):
        r.problem(path, "give either directories or files (one of them, not both)")
    for key, items in (("directories", directories), ("files", files)):
        for index, item in enumerate(items if isinstance(items, list) else []):
            _check_fields(r, item, _PATH_ITEM, f"{path}.{key}[{index}]")
            if isinstance(item, dict) and not item.get("path"):
                r.problem(f"{path}.{key}[{index}].path", "required: a path pattern like apps/*")


def _check_provider(
    r: FieldReader,
    gen: dict[str, Any],
    path: str,
    providers: dict[str, dict[str, Any]],
    unsupported: tuple[str, ...],
    shared: dict[str, Any],
) -> None:
    table: dict[str, Any] = {**shared, **{name: dict for name in providers}}
    for name in unsupported:
        table[name] = f"the {name} provider is not supported here (supported: {', '.join(providers)})"
    _check_fields(r, gen, table, path)
    chosen = [name for name in providers if isinstance(gen.get(name), dict)]
    if len(chosen) != 1 and not any(name in gen for name in unsupported):
        r.problem(path, f"give exactly one provider: {', '.join(providers)}")
    for name in chosen:
        _check_fields(r, gen[name], providers[name], f"{path}.{name}")


def _check_pull_request(r: FieldReader, gen: dict[str, Any], path: str) -> None:
    shared = {
        "filters": list,
        "requeueAfterSeconds": int,
        "template": dict,
        "values": dict,
        "continueOnRepoNotFoundError": bool,
    }
    _check_provider(r, gen, path, _PULL_REQUEST_PROVIDERS, _PULL_REQUEST_UNSUPPORTED, shared)
    for index, item in enumerate(gen.get("filters") or []):
        _check_fields(r, item, _PR_FILTER, f"{path}.filters[{index}]")


def _check_scm(r: FieldReader, gen: dict[str, Any], path: str) -> None:
    shared = {"filters": list, "requeueAfterSeconds": int, "template": dict, "values": dict, "cloneProtocol": str}
    _check_provider(r, gen, path, _SCM_PROVIDERS, _SCM_UNSUPPORTED, shared)
    for index, item in enumerate(gen.get("filters") or []):
        _check_fields(r, item, _SCM_FILTER, f"{path}.filters[{index}]")
    if gen.get("cloneProtocol") not in (None, "", "ssh", "https"):
        r.problem(f"{path}.cloneProtocol", "must be ssh or https")


def _check_combination(r: FieldReader, gen: dict[str, Any], path: str, kind: str, depth: int) -> None:
    table: dict[str, Any] = {"generators": list, "template": dict}
    if kind == "merge":
        table["mergeKeys"] = list
    _check_fields(r, gen, table, path)
    children = gen.get("generators") if isinstance(gen.get("generators"), list) else []
    if kind == "matrix" and len(children) != 2:
        r.problem(f"{path}.generators", f"a matrix combines exactly two generators, found {len(children)}")
    if kind == "merge":
        if len(children) < 2:
            r.problem(f"{path}.generators", f"a merge needs at least two generators, found {len(children)}")
        keys = gen.get("mergeKeys")
        if not keys or not all(isinstance(k, str) and k for k in keys):
            r.problem(
                f"{path}.mergeKeys", "required: the parameter names whose values pair up entries, like [server]"
            )
    for index, child in enumerate(children):
        check_generator(r, child, f"{path}.generators[{index}]", depth + 1)


def check_generator(r: FieldReader, gen: Any, path: str, depth: int = 0) -> None:
    """Every problem of one generator (and, for matrix and merge, of the generators inside it)."""
    if not isinstance(gen, dict):
        r.problem(path, f"must be a mapping with one generator (list, git, ...), found {describe_value(gen)}")
        return
    kinds = [key for key in gen if key in GENERATOR_KINDS]
    for key in gen:
        if key in _UNSUPPORTED_GENERATORS:
            r.problem(f"{path}.{key}", f"{_UNSUPPORTED_GENERATORS[key]}; use one of {', '.join(GENERATOR_KINDS)}")
        elif key not in GENERATOR_KINDS and key != "selector":
            r.problem(f"{path}.{key}", f"is not a generator (known: {', '.join(GENERATOR_KINDS)}) nor selector")
    if len(kinds) != 1:
        if not any(key in _UNSUPPORTED_GENERATORS for key in gen):
            r.problem(path, f"give exactly one generator ({', '.join(GENERATOR_KINDS)}), found {len(kinds)}")
        return
    kind = kinds[0]
    if "selector" in gen:
        check_selector(r, gen["selector"], f"{path}.selector")
    body = gen[kind]
    body_path = f"{path}.{kind}"
    if body is None:
        body = {}
    if not isinstance(body, dict):
        r.problem(body_path, f"must be a mapping of fields, found {describe_value(body)}")
        return
    if kind in ("matrix", "merge"):
        if depth >= 2:
            r.problem(body_path, "matrix and merge nest one level deep at most (as in Argo CD)")
            return
        _check_combination(r, body, body_path, kind, depth)
    else:
        {
            "list": _check_list,
            "clusters": _check_clusters,
            "git": _check_git,
            "pullRequest": _check_pull_request,
            "scmProvider": _check_scm,
        }[kind](r, body, body_path)
    _check_template(r, body.get("template"), f"{body_path}.template")
