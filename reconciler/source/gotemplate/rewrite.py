"""Argo CD's template functions on Helm's Go template engine, by rewriting the template.

Helm's engine (helm_python) has Go's text/template with Sprig but no way to add functions,
and ApplicationSet templates (applicationset/utils: `normalize`, `slugify`, the
`missingkey=error` option) need a few that Helm lacks. Each becomes a call of a named
template (`DEFINES`, written with Sprig) or a guard made of Sprig and Go builtins, so Go
still parses and runs everything:

- `normalize X` / `X | normalize` -> `include "__argo_normalize" X`;
- `slugify [max [smart]] X` / `X | slugify [max [smart]]` -> `include "__argo_slugify" (list ... X)`
  (a piped `slugify` takes the pipeline before it as its last argument, as Go would);
- with `missingkey=error`, a field chain `.a.b` (or `$.a.b`, `$v.a.b`) -> a guard that fails
  with Go's own message `map has no entry for key "b"` where a key is missing
  (`and`/`or` stop at the first decisive argument, so the value is read only when present);
- `env`, `expandenv`, `getHostByName` (removed by Argo CD) and Helm's `lookup` are refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from reconciler.core.errors import InputError
from reconciler.source.gotemplate.lexer import Action, LexError, Token, TokenKind, split_template

NORMALIZE = "__argo_normalize"
SLUGIFY = "__argo_slugify"
REFUSED_FUNCTIONS = frozenset({"env", "expandenv", "getHostByName", "lookup"})
_KEYWORDS_WITH_NAME = frozenset({"template", "block", "define"})
_KEYWORDS = frozenset({"if", "else", "range", "with", "end", "break", "continue"}) | _KEYWORDS_WITH_NAME

# Argo CD's SanitizeName and gosimple/slug's Make applied to its result, in Sprig. After
# SanitizeName only [-a-z0-9.] is left, so slug's transliteration and substitutions do nothing.
DEFINES = r"""{{- define "__argo_normalize" -}}
{{- regexReplaceAll "[^-a-z0-9.]" (lower .) "-" | trunc 253 | trimAll "-." -}}
{{- end -}}
{{- define "__argo_slugify" -}}
{{- $max := 50 -}}{{- $smart := true -}}
{{- if ge (len .) 2 }}{{ $max = int (index . 0) }}{{ end -}}
{{- if ge (len .) 3 }}{{ $smart = index . 1 }}{{ end -}}
{{- $slug := include "__argo_normalize" (last .) -}}
{{- $cut := false -}}
{{- if and (not $smart) (ge (len $slug) $max) }}{{ $slug = trunc $max $slug }}{{ $cut = true }}{{ end -}}
{{- $slug = regexReplaceAll "-+" (regexReplaceAll "[^a-zA-Z0-9_-]" $slug "-") "-" -}}
{{- if not $cut }}{{ $slug = trimAll "-_" $slug }}{{ end -}}
{{- if and $smart (gt $max 0) (gt (len $slug) $max) -}}
{{- $upto := regexFind "^.*-" (trunc (int (add1 $max)) $slug) -}}
{{- $slug = ternary (trimSuffix "-" $upto) (trunc $max $slug) (ne $upto "") -}}
{{- end -}}
{{- $slug -}}
{{- end -}}
"""


class TemplateRewriteError(InputError, ValueError):
    """The template uses something Argo CD does not offer, or cannot be split into actions."""


@dataclass(frozen=True)
class Group:
    """A parenthesised part of an action: `(` tokens `)`."""

    items: tuple[Item, ...]


Item = Token | Group


def rewrite_template(source: str, *, missingkey_error: bool) -> str:
    try:
        pieces = split_template(source)
    except LexError as err:
        raise TemplateRewriteError(f"template: {err}") from err
    return "".join(
        piece.opening + _join(_rewrite_action(piece, missingkey_error)) + piece.closing
        if isinstance(piece, Action)
        else piece.text
        for piece in pieces
    )


def _rewrite_action(action: Action, missingkey_error: bool) -> list[Item]:
    for token in action.tokens:
        if token.kind is TokenKind.IDENTIFIER and token.text in REFUSED_FUNCTIONS:
            raise TemplateRewriteError(f'function "{token.text}" not defined')
    items = _group(list(action.tokens))
    if missingkey_error:
        items = _guard_chains(items)
    head, pipeline = _split_keyword(items)
    return head + _rewrite_pipeline(pipeline)


def _group(tokens: list[Token]) -> list[Item]:
    """Nest the tokens by parentheses; unbalanced ones stay flat for Go to report."""
    stack: list[list[Item]] = [[]]
    for token in tokens:
        if token.kind is TokenKind.LEFT_PAREN:
            stack.append([])
        elif token.kind is TokenKind.RIGHT_PAREN and len(stack) > 1:
            inner = stack.pop()
            stack[-1].append(Group(tuple(inner)))
        else:
            stack[-1].append(token)
    while len(stack) > 1:  # an unclosed "(": give the tokens back as they were
        inner = stack.pop()
        stack[-1].extend([Token(TokenKind.LEFT_PAREN, "("), *inner])
    return stack[0]


def _split_keyword(items: list[Item]) -> tuple[list[Item], list[Item]]:
    """`if`, `else if`, `range`, `template "name"`, ... and the pipeline after them."""
    index = 0
    while index < len(items):
        item = items[index]
        if isinstance(item, Token) and item.kind is TokenKind.SPACE:
            index += 1
            continue
        if isinstance(item, Token) and item.kind is TokenKind.IDENTIFIER and item.text in _KEYWORDS:
            index += 1
            continue
        if isinstance(item, Token) and item.kind is TokenKind.STRING and _follows_named_keyword(items, index):
            index += 1
            continue
        break
    return items[:index], items[index:]


def _follows_named_keyword(items: list[Item], index: int) -> bool:
    before = [item for item in items[:index] if not (isinstance(item, Token) and item.kind is TokenKind.SPACE)]
    last = before[-1] if before else None
    return isinstance(last, Token) and last.text in _KEYWORDS_WITH_NAME


def _rewrite_pipeline(items: Sequence[Item]) -> list[Item]:
    """Declarations kept, then each command rewritten, `slugify` taking what is piped to it."""
    declaration, commands = _split_declaration(list(items))
    rewritten: list[list[Item]] = []
    for command in _split_commands(commands):
        command = [Group(tuple(_rewrite_pipeline(item.items))) if isinstance(item, Group) else item for item in command]
        name = _command_name(command)
        if name == "normalize":
            command = _replace_name(command, _call(NORMALIZE))
        elif name == "slugify":
            arguments = _after_name(command)
            if rewritten:
                piped = _pipeline_of(rewritten)
                arguments = [*arguments, Token(TokenKind.SPACE, " "), Group(tuple(piped))]
                rewritten = []
            command = [*_leading_space(command), *_call(SLUGIFY), Token(TokenKind.SPACE, " "), _list_of(arguments)]
        rewritten.append(command)
    return declaration + _pipeline_of(rewritten)


def _split_declaration(items: list[Item]) -> tuple[list[Item], list[Item]]:
    for index, item in enumerate(items):
        if isinstance(item, Token) and item.kind in (TokenKind.DECLARE, TokenKind.ASSIGN):
            return items[: index + 1], items[index + 1 :]
        if isinstance(item, Token) and item.kind is TokenKind.PIPE:
            break
    return [], items


def _split_commands(items: list[Item]) -> Iterator[list[Item]]:
    command: list[Item] = []
    for item in items:
        if isinstance(item, Token) and item.kind is TokenKind.PIPE:
            yield command
            command = []
        else:
            command.append(item)
    yield command


def _pipeline_of(commands: list[list[Item]]) -> list[Item]:
    joined: list[Item] = []
    for index, command in enumerate(commands):
        if index:
            joined.append(Token(TokenKind.PIPE, "|"))
        joined.extend(command)
    return joined


def _command_name(command: list[Item]) -> str | None:
    for item in command:
        if isinstance(item, Token) and item.kind is TokenKind.SPACE:
            continue
        return item.text if isinstance(item, Token) and item.kind is TokenKind.IDENTIFIER else None
    return None


def _leading_space(command: list[Item]) -> list[Item]:
    index = 0
    while index < len(command) and isinstance(command[index], Token) and command[index].kind is TokenKind.SPACE:
        index += 1
    return command[:index]


def _after_name(command: list[Item]) -> list[Item]:
    return command[len(_leading_space(command)) + 1 :]


def _replace_name(command: list[Item], replacement: list[Item]) -> list[Item]:
    return [*_leading_space(command), *replacement, *_after_name(command)]


def _call(template_name: str) -> list[Item]:
    return [
        Token(TokenKind.IDENTIFIER, "include"),
        Token(TokenKind.SPACE, " "),
        Token(TokenKind.STRING, f'"{template_name}"'),
    ]


def _list_of(arguments: list[Item]) -> Group:
    return Group((Token(TokenKind.IDENTIFIER, "list"), Token(TokenKind.SPACE, " "), *arguments))


def _guard_chains(items: list[Item]) -> list[Item]:
    """Every `.a.b`, `$.a.b` and `$v.a.b` read as Go's missingkey=error would read it."""
    guarded: list[Item] = []
    index = 0
    while index < len(items):
        item = items[index]
        if isinstance(item, Group):
            guarded.append(Group(tuple(_guard_chains(list(item.items)))))
            index += 1
            continue
        root, keys, index_after = _chain_at(items, index)
        if keys:
            guarded.append(Token(TokenKind.OTHER, _guard(root, keys)))
            index = index_after
            continue
        guarded.append(item)
        index += 1
    return guarded


def _chain_at(items: list[Item], index: int) -> tuple[str, list[str], int]:
    item = items[index]
    assert isinstance(item, Token)
    if item.kind is TokenKind.VARIABLE:
        root, cursor = item.text, index + 1
    elif item.kind is TokenKind.FIELD and not _continues_chain(items, index):
        root, cursor = "", index
    else:
        return "", [], index
    keys: list[str] = []
    while cursor < len(items):
        field = items[cursor]
        if not (isinstance(field, Token) and field.kind is TokenKind.FIELD):
            break
        keys.append(field.text[1:])
        cursor += 1
    return root, keys, cursor


def _continues_chain(items: list[Item], index: int) -> bool:
    """A field right after `)` or a variable belongs to that operand (e.g. `(f x).a`)."""
    if index == 0:
        return False
    before = items[index - 1]
    if isinstance(before, Group):
        return True
    return isinstance(before, Token) and before.kind in (TokenKind.FIELD, TokenKind.VARIABLE)


def _guard(root: str, keys: list[str]) -> str:
    checks = []
    path = root
    for key in keys:
        holder = path or "."
        message = f'map has no entry for key \\"{key}\\"'
        checks.append(f'(or (hasKey {holder} "{key}") (fail "{message}"))')
        path = f"{path}.{key}"
    return f"(and {' '.join(checks)} {path})"


def _join(items: Sequence[Item]) -> str:
    return "".join(f"({_join(item.items)})" if isinstance(item, Group) else item.text for item in items)
