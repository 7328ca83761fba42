"""`template.<name>`: what a notification says, in Go text/template with Sprig, rendered by
Helm's engine (reconciler/source/gotemplate).

Argo CD passes its helpers to templates as functions (`call .repo.RepoURLToHTTPS X`), which a
template engine fed with data cannot receive. Each supported helper is rewritten before
rendering into Sprig, a Go builtin or a lookup in data computed for the app:

| Argo CD                          | rendered as                                                 |
| -------------------------------- | ----------------------------------------------------------- |
| `call .repo.RepoURLToHTTPS X`    | `index .repo.RepoURLToHTTPS X` (each of the app's repoURLs) |
| `call .repo.FullNameByRepoURL X` | `index .repo.FullNameByRepoURL X` (the same)                |
| `call .repo.QueryEscape X`       | `urlquery X`                                                |
| `call .time.Now`                 | `now`                                                       |
| `call .time.Parse X`             | `toDate "2006-01-02T15:04:05Z07:00" X`                      |
| `call .strings.ToUpper X` / `ToLower` | `upper X` / `lower X`                                  |
| `call .strings.ReplaceAll S O N` | `replace O N S`                                             |

The piped forms (`X | call .repo.RepoURLToHTTPS`) work the same. `.repo.GetCommitMetadata`,
`.repo.GetAppDetails` and `.sync.GetInfoItem` need Argo CD's repo-server: a template that uses
them is refused when the configuration loads, by name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.control.notifications.expr.functions import full_name_by_repo_url, repo_url_to_https
from reconciler.control.notifications.expr.values import RFC3339, RFC3339_NANO
from reconciler.control.notifications.services import SERVICE_TYPES
from reconciler.control.notifications.services.base import ConfigError
from reconciler.source.gotemplate import GoTemplateError, GoTemplateJob, render_go_templates
from reconciler.source.gotemplate.lexer import Action, LexError, Token, TokenKind, split_template

_SIMPLE_HELPERS = {
    ("repo", "RepoURLToHTTPS"): "index {root}repo.RepoURLToHTTPS",
    ("repo", "FullNameByRepoURL"): "index {root}repo.FullNameByRepoURL",
    ("repo", "QueryEscape"): "urlquery",
    ("time", "Now"): "now",
    ("time", "Parse"): f'toDate "{RFC3339}"',
    ("strings", "ToUpper"): "upper",
    ("strings", "ToLower"): "lower",
    ("strings", "ReplaceAll"): 'include "__notify_replace_all" (list',  # closed after its arguments
}
_REFUSED_HELPERS = {
    ("repo", "GetCommitMetadata"): "commit metadata from Argo CD's repo-server",
    ("repo", "GetAppDetails"): "application details from Argo CD's repo-server",
    ("sync", "GetInfoItem"): "sync operation info items, which this system does not record",
}
_HELPER_NAMESPACES = frozenset({"repo", "time", "strings", "sync"})
_REPLACE_ALL_DEFINE = (
    '{{- define "__notify_replace_all" -}}{{ replace (index . 1) (index . 2) (index . 0) }}{{- end -}}'
)
TIME_CONSTANTS = {"RFC3339": RFC3339, "RFC3339Nano": RFC3339_NANO}


@dataclass(frozen=True)
class NotificationTemplate:
    name: str
    fields: Mapping[str, Any]  # the parsed YAML, every string already rewritten for the engine

    def parts_for(self, service_type: str, service_name: str) -> dict[str, Any]:
        """`message` and the block this service reads (a webhook reads its own name's entry)."""
        block = self.fields.get(service_type) or {}
        if service_type == "webhook":
            block = block.get(service_name) or {}
        return {"message": self.fields.get("message") or "", "block": block}


def parse_template(name: str, raw: Any) -> NotificationTemplate:
    where = f"template.{name}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a map with message and service parts (slack, email, webhook, ...)")
    for key, value in raw.items():
        if key == "message":
            if not isinstance(value, str):
                raise ConfigError(f"{where}.message must be text")
        elif key in SERVICE_TYPES:
            SERVICE_TYPES[key].check_template(value, f"{where}.{key}")
        else:
            raise ConfigError(
                f"{where}: {key!r} is not a part this system renders (supported: message, "
                f"{', '.join(sorted(SERVICE_TYPES))}); remove it or configure a supported service"
            )
    return NotificationTemplate(name, _rewrite_tree(raw, where))


def _rewrite_tree(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return rewrite_helpers(value, where)
    if isinstance(value, dict):
        return {key: _rewrite_tree(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite_tree(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def rewrite_helpers(text: str, where: str) -> str:
    """`text` with Argo CD's helper calls rewritten (see the module's table); ConfigError names
    the field of a helper that cannot be."""
    if "{{" not in text:
        return text
    try:
        pieces = split_template(text)
    except LexError as err:
        raise ConfigError(f"{where}: {err}") from None
    out: list[str] = []
    uses_replace_all = False
    for piece in pieces:
        if not isinstance(piece, Action):
            out.append(piece.text)
            continue
        body, replaced = _rewrite_action(list(piece.tokens), where)
        uses_replace_all = uses_replace_all or replaced
        out.append(piece.opening + body + piece.closing)
    return (_REPLACE_ALL_DEFINE if uses_replace_all else "") + "".join(out)


def _rewrite_action(tokens: list[Token], where: str) -> tuple[str, bool]:
    out: list[str] = []
    replaced_any = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        helper = _helper_at(tokens, index)
        if helper is None:
            out.append(token.text)
            index += 1
            continue
        root, namespace, function, after = helper
        called = token.kind is TokenKind.IDENTIFIER and token.text == "call"
        qualified = f".{namespace}.{function}"
        if (namespace, function) in _REFUSED_HELPERS:
            needs = _REFUSED_HELPERS[namespace, function]
            raise ConfigError(f"{where}: {qualified} is not supported: it needs {needs}")
        if not called and (namespace, function) in _SIMPLE_HELPERS:
            raise ConfigError(f"{where}: {qualified} is a function: use it as `call {qualified} ...`")
        if not called:
            if namespace == "time" and function in TIME_CONSTANTS:
                out.append(token.text)
                index += 1
                continue
            raise ConfigError(f"{where}: {qualified} is not supported")
        if (namespace, function) not in _SIMPLE_HELPERS:
            raise ConfigError(f"{where}: call {qualified} is not supported")
        replacement = _SIMPLE_HELPERS[namespace, function].format(root=root)
        if function == "ReplaceAll":
            end = _command_end(tokens, after)
            arguments = "".join(t.text for t in tokens[after:end])
            trailing = arguments[len(arguments.rstrip()) :]
            out.append(f"{replacement}{arguments.rstrip()}){trailing}")
            replaced_any, index = True, end
            continue
        out.append(replacement)
        index = after
    return "".join(out), replaced_any


def _helper_at(tokens: list[Token], index: int) -> tuple[str, str, str, int] | None:
    """(root, namespace, function, index after) when a helper reference starts at `index`:
    `call .ns.f`, `call $.ns.f`, or a bare `.ns.f` / `$.ns.f`."""
    cursor = index
    if tokens[cursor].kind is TokenKind.IDENTIFIER and tokens[cursor].text == "call":
        cursor += 1
        while cursor < len(tokens) and tokens[cursor].kind is TokenKind.SPACE:
            cursor += 1
    root = ""
    if cursor < len(tokens) and tokens[cursor].kind is TokenKind.VARIABLE and tokens[cursor].text == "$":
        root, cursor = "$", cursor + 1
    fields = []
    while cursor < len(tokens) and tokens[cursor].kind is TokenKind.FIELD and len(fields) < 2:
        fields.append(tokens[cursor].text[1:])
        cursor += 1
    if len(fields) != 2 or fields[0] not in _HELPER_NAMESPACES:
        return None
    if index > 0 and tokens[index].kind is TokenKind.FIELD and tokens[index - 1].kind in (
        TokenKind.FIELD, TokenKind.VARIABLE, TokenKind.RIGHT_PAREN,
    ):
        return None  # `.app.repo.x` or `$v.repo.x`: a field of something else
    return root + ".", fields[0], fields[1], cursor


def _command_end(tokens: list[Token], start: int) -> int:
    """Where the command starting at `start` ends: a `|` or `)` at its own depth, or the action's end."""
    depth = 0
    for cursor in range(start, len(tokens)):
        kind = tokens[cursor].kind
        if kind is TokenKind.LEFT_PAREN:
            depth += 1
        elif kind is TokenKind.RIGHT_PAREN:
            if depth == 0:
                return cursor
            depth -= 1
        elif kind is TokenKind.PIPE and depth == 0:
            return cursor
    return len(tokens)


def helper_data(app: Mapping[str, Any]) -> dict[str, Any]:
    """What the rewritten helpers look up: the app's repository URLs, converted."""
    spec = app.get("spec") or {}
    sources = [spec.get("source") or {}, *list(spec.get("sources") or [])]
    urls = sorted({str(source.get("repoURL")) for source in sources if source.get("repoURL")})
    return {
        "repo": {
            "RepoURLToHTTPS": {url: repo_url_to_https(url) for url in urls},
            "FullNameByRepoURL": {url: full_name_by_repo_url(url) for url in urls},
        },
        "time": dict(TIME_CONSTANTS),
    }


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _replace(value: Any, path: str, rendered: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return rendered[path]
    if isinstance(value, dict):
        return {key: _replace(item, f"{path}.{key}", rendered) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, f"{path}[{index}]", rendered) for index, item in enumerate(value)]
    return value


def render_parts(parts: Mapping[str, Any], data: Mapping[str, Any], label: str) -> dict[str, Any]:
    """Every string of `parts` rendered with `data`, in one call of the engine."""
    found = list(_strings(dict(parts), label))
    outputs = render_go_templates([GoTemplateJob(text, data, path) for path, text in found]) if found else []
    return _replace(dict(parts), label, dict(zip([p for p, _ in found], outputs, strict=True)))


def check_parses(templates: Mapping[str, NotificationTemplate]) -> None:
    """Go's parser over every field (executing none of it), so a syntax error or an unknown
    function is refused when the configuration loads, naming the field."""
    jobs = [
        GoTemplateJob("{{- if false -}}" + text.removeprefix(_REPLACE_ALL_DEFINE) + "{{- end -}}", {}, path)
        for template in templates.values()
        for path, text in _strings(dict(template.fields), f"template.{template.name}")
        if "{{" in text
    ]
    try:
        render_go_templates(jobs)
    except GoTemplateError as err:
        raise ConfigError(str(err)) from None
