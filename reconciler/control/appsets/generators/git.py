"""The Git generator: directories (with `exclude`) or JSON/YAML files of a repository at a
revision, as parameter sets named as Argo CD names them (`path`, `path.basename`, ...).

Directories are every folder of the commit except those whose name starts with `.`; a
pattern is Go's path.Match (`*` stays within one folder); a directory matching any
`exclude: true` entry is left out whatever the order. File patterns also take `**` (any
number of folders), as Argo CD's repo server does.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from reconciler.control.appsets.context import GenerateContext, GeneratorError, append_values
from reconciler.control.appsets.template import sanitize_name
from reconciler.source.render.errors import RenderError
from reconciler.source.render.manifests import load_yaml_documents

DEFAULT_REQUEUE_SECONDS = 180.0
# The combined size of the files one files generator may read (they are parameters, not manifests).
MAX_FILES_BYTES = 8 * 1024 * 1024


@lru_cache(maxsize=512)
def _pattern(pattern: str) -> re.Pattern[str]:
    """Go's path.Match as a regex; `**` as a whole segment crosses folders."""
    out, i = [], 0
    pattern = pattern.strip("/")
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i) and i + 2 == len(pattern):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise ValueError(f'"{pattern}" has a [ that is never closed')
            body = pattern[i + 1 : end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            out.append(f"[{'^' if negate else ''}{re.escape(body).replace(chr(92) + '-', '-')}]")
            i = end + 1
        elif char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile("".join(out))


def _matches(pattern: str, path: str, where: str) -> bool:
    try:
        return _pattern(pattern).fullmatch(path) is not None
    except ValueError as exc:
        raise GeneratorError(where, str(exc)) from None


def _walk(root: Path) -> tuple[list[str], list[str]]:
    """(directories, files) of the tree, relative POSIX paths; hidden folders and symlinks left out."""
    directories, files = [], []
    for current, dirnames, filenames in os.walk(root, followlinks=False):
        rel = Path(current).relative_to(root).as_posix()
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not (Path(current) / d).is_symlink())
        for name in dirnames:
            directories.append(name if rel == "." else f"{rel}/{name}")
        for name in filenames:
            if not (Path(current) / name).is_symlink():
                files.append(name if rel == "." else f"{rel}/{name}")
    return sorted(directories), sorted(files)


def generate(ctx: GenerateContext, spec: dict[str, Any], where: str) -> list[dict[str, Any]]:
    repo_url, revision = spec["repoURL"], spec.get("revision") or "HEAD"
    ctx.git_repos.append(repo_url)
    ctx.requeue_after.append(float(spec.get("requeueAfterSeconds") or DEFAULT_REQUEUE_SECONDS))
    try:
        root = Path(ctx.git_tree(repo_url, revision))
    except Exception as exc:  # the Git source's errors name the repository and revision
        raise GeneratorError(where, f"cannot read {repo_url} at {revision}: {exc}") from None
    directories, files = _walk(root)
    if spec.get("directories"):
        return _directories(ctx, spec, directories, where)
    return _files(ctx, spec, root, files, where)


def _directories(ctx: GenerateContext, spec: dict[str, Any], found: list[str], where: str) -> list[dict[str, Any]]:
    items = spec["directories"]
    chosen = []
    for path in found:
        included = any(not i.get("exclude") and _matches(i["path"], path, f"{where}.directories") for i in items)
        excluded = any(i.get("exclude") and _matches(i["path"], path, f"{where}.directories") for i in items)
        if included and not excluded:
            chosen.append(path)
    prefix = spec.get("pathParamPrefix") or ""
    params = []
    for path in chosen:
        entry: dict[str, Any] = {}
        basename = posixpath.basename(path)
        if ctx.go:
            value = {
                "path": path,
                "basename": basename,
                "basenameNormalized": sanitize_name(basename),
                "segments": path.split("/"),
            }
            if prefix:
                entry[prefix] = {"path": value}
            else:
                entry["path"] = value
        else:
            name = f"{prefix}.path" if prefix else "path"
            entry.update(
                {name: path, f"{name}.basename": basename, f"{name}.basenameNormalized": sanitize_name(basename)}
            )
            entry.update({f"{name}[{i}]": segment for i, segment in enumerate(path.split("/")) if segment})
        append_values(ctx, spec.get("values"), entry, where)
        params.append(entry)
    return params


def _files(
    ctx: GenerateContext, spec: dict[str, Any], root: Path, found: list[str], where: str
) -> list[dict[str, Any]]:
    chosen: set[str] = set()
    for item in spec["files"]:
        if not item.get("exclude"):
            chosen.update(f for f in found if _matches(item["path"], f, f"{where}.files"))
    for item in spec["files"]:
        if item.get("exclude"):
            chosen -= {f for f in found if _matches(item["path"], f, f"{where}.files")}
    _check_files_size(root, sorted(chosen), where)
    params = []
    for path in sorted(chosen):
        for document in _read_objects(root / path, path, where):
            params.append(_file_params(ctx, spec, path, document, where))
    return params


def _check_files_size(root: Path, paths: list[str], where: str) -> None:
    """Refuse files whose combined size is past MAX_FILES_BYTES before any is read: they are
    parsed where the set is generated (a worker, or the API's dry run)."""
    total = sum((root / path).stat().st_size for path in paths)
    if total > MAX_FILES_BYTES:
        raise GeneratorError(
            where,
            f"the files it matched hold {total} bytes, more than the limit of {MAX_FILES_BYTES}: "
            "match fewer or smaller files",
        )


def _read_objects(file: Path, path: str, where: str) -> list[dict[str, Any]]:
    # The node budget of every manifest a render reads: a few lines of nested YAML anchors
    # would otherwise expand to billions of parameters (seen: the API's dry run never answered).
    try:
        documents = load_yaml_documents(file.read_text(encoding="utf-8"), path)
    except (OSError, UnicodeDecodeError) as exc:
        raise GeneratorError(where, f"unable to process file '{path}': {exc}") from None
    except RenderError as exc:
        raise GeneratorError(where, f"unable to process file '{path}': {exc.message}") from None
    if len(documents) > 1:
        raise GeneratorError(where, f"unable to process file '{path}': it holds more than one YAML document")
    data = documents[0][2] if documents else None
    if data is None:
        return [{}]
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list) and all(isinstance(item, dict) for item in data):
        return data
    raise GeneratorError(where, f"unable to process file '{path}': it must hold a mapping or a list of mappings")


def _file_params(
    ctx: GenerateContext, spec: dict[str, Any], path: str, document: dict[str, Any], where: str
) -> dict[str, Any]:
    prefix = spec.get("pathParamPrefix") or ""
    directory = posixpath.dirname(path) or "."
    basename, filename = posixpath.basename(directory), posixpath.basename(path)
    if ctx.go:
        entry = dict(document)
        value = {
            "path": directory,
            "basename": basename,
            "filename": filename,
            "basenameNormalized": sanitize_name(basename),
            "filenameNormalized": sanitize_name(filename),
            "segments": directory.split("/"),
        }
        entry[prefix or "path"] = {"path": value} if prefix else value
    else:
        entry = {key: go_string(value) for key, value in flatten(document).items()}
        name = f"{prefix}.path" if prefix else "path"
        entry.update(
            {
                name: directory,
                f"{name}.basename": basename,
                f"{name}.filename": filename,
                f"{name}.basenameNormalized": sanitize_name(basename),
                f"{name}.filenameNormalized": sanitize_name(filename),
            }
        )
        entry.update({f"{name}[{i}]": segment for i, segment in enumerate(directory.split("/")) if segment})
    append_values(ctx, spec.get("values"), entry, where)
    return entry


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings and lists as dotted keys (jeremywohl/flatten's DotStyle, as Argo CD)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else None
    if items is None:
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in items:
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, (dict, list)) and item:
            out.update(flatten(item, name))
        else:
            out[name] = item
    return out


def go_string(value: Any) -> str:
    """A value as Go's fmt %v prints what a JSON/YAML reader gave it: numbers are float64 there,
    so 1234567 prints as 1.234567e+06, as in Argo CD."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_float(float(value))
    return str(value)


def _go_float(number: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64): the shortest digits, %e from exponent 6 (or below -4)."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + int(exponent)
    shown = point - 1
    if shown < -4 or shown >= 6:
        mantissa = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'+' if shown >= 0 else '-'}{abs(shown):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"
