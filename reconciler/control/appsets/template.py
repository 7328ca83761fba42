"""Rendering an ApplicationSet's template with each parameter set, as Argo CD does.

Every string of the template (map keys too) is rendered on its own, in one of two modes:

- default (`goTemplate: false`): fasttemplate substitution. `{{ name }}` is replaced by the
  parameter `name` when it is a string; any other tag is left as written (Argo CD's rule:
  an unknown parameter is not an error, it stays visible in the result).
- `goTemplate: true`: Go text/template with Sprig (reconciler/source/gotemplate, Helm's Go
  engine, all strings of all parameter sets in one batch), `missingkey=error` from
  goTemplateOptions; `templatePatch` is a Go template too, rendered and merged over each app.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from reconciler.core.errors import InputError
from reconciler.model.appset_types import ApplicationSet
from reconciler.source.gotemplate import GoTemplateError, GoTemplateJob, render_go_templates

_FAST_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_TEMPLATED = re.compile(r".*\{\{.*\}\}.*")  # Argo CD's isTemplatedRegex (no newline crossing)
_NOT_DNS = re.compile(r"[^-a-z0-9.]")
_NOT_SLUG = re.compile(r"[^a-z0-9-]+")


class TemplateError(InputError, ValueError):
    """A template (or a generator's field) that cannot be rendered; the message names where."""


def sanitize_name(name: str) -> str:
    """Argo CD's `normalize` (SanitizeName): lower case, anything but [-a-z0-9.] becomes `-`,
    at most 253 characters, no leading or trailing `-` or `.`."""
    return _NOT_DNS.sub("-", name.lower())[:253].strip("-.")


def slugify(text: str, max_length: int = 50) -> str:
    """gosimple/slug as Argo CD's pull-request generator configures it (`_` -> `-`, 50
    characters, cut at a word boundary where one fits)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NOT_SLUG.sub("-", ascii_text.replace("_", "-").lower()).strip("-")
    slug = re.sub("-{2,}", "-", slug)
    if max_length <= 0 or len(slug) <= max_length:
        return slug
    words, kept = slug.split("-"), ""
    for word in words:
        candidate = f"{kept}-{word}" if kept else word
        if len(candidate) > max_length:
            break
        kept = candidate
    return kept or slug[:max_length]


def fast_replace(text: str, params: dict[str, Any]) -> str:
    """fasttemplate substitution: a tag whose trimmed name is a string parameter is replaced;
    any other tag stays as written."""
    if not any(_TEMPLATED.match(line) for line in text.split("\n")) and "{{" not in text:
        return text
    if text.count("{{") and "}}" not in text[text.find("{{") :]:
        raise TemplateError(f'"{text}": a {{{{ is never closed with }}}}')

    def substitute(match: re.Match[str]) -> str:
        tag = match.group(1)
        value = params.get(tag.strip())
        return value if tag.strip() and isinstance(value, str) else match.group(0)

    return _FAST_TAG.sub(substitute, text)


# --------------------------------------------------------------------------------------
# Trees: every string of a JSON-like value, keys included
# --------------------------------------------------------------------------------------


def _strings(tree: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            child = f"{path}.{key}" if path else str(key)
            yield child + " (key)", str(key)
            yield from _strings(value, child)
    elif isinstance(tree, list):
        for index, item in enumerate(tree):
            yield from _strings(item, f"{path}[{index}]")
    elif isinstance(tree, str):
        yield path, tree


def _rebuild(tree: Any, rendered: Iterator[str]) -> Any:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for value in tree.values():
            key = next(rendered)
            out[key] = _rebuild(value, rendered)
        return out
    if isinstance(tree, list):
        return [_rebuild(item, rendered) for item in tree]
    if isinstance(tree, str):
        return next(rendered)
    return copy.deepcopy(tree)


@dataclass(frozen=True)
class Engine:
    """How one ApplicationSet renders strings: its mode and Go options, and its name for errors."""

    go: bool = False
    missingkey_error: bool = False
    owner: str = ""

    @classmethod
    def of(cls, appset: ApplicationSet) -> Engine:
        return cls(appset.go_template, appset.missingkey_error, f"ApplicationSet {appset.name}")

    def render_trees(self, trees: Sequence[Any], params: Sequence[dict[str, Any]], what: str) -> list[Any]:
        """trees[i] rendered with params[i]; all Go templates of all of them in one batch."""
        per_tree = [list(_strings(tree, "")) for tree in trees]
        if not self.go:
            try:
                outputs = [
                    [fast_replace(text, p) for _, text in strings]
                    for strings, p in zip(per_tree, params, strict=True)
                ]
            except TemplateError as exc:
                raise TemplateError(f"{self.owner}: {what}: {exc}") from None
        else:
            outputs = self._go(per_tree, params, what)
        return [_rebuild(tree, iter(out)) for tree, out in zip(trees, outputs, strict=True)]

    def _go(
        self, per_tree: list[list[tuple[str, str]]], params: Sequence[dict[str, Any]], what: str
    ) -> list[list[str]]:
        jobs: list[GoTemplateJob] = []
        places: list[tuple[int, int]] = []
        outputs = [[text for _, text in strings] for strings in per_tree]
        for tree_index, (strings, data) in enumerate(zip(per_tree, params, strict=True)):
            for string_index, (path, text) in enumerate(strings):
                if "{{" in text:
                    label = f"{self.owner}: {what} {tree_index}: {path}"
                    jobs.append(GoTemplateJob(text, data, label))
                    places.append((tree_index, string_index))
        try:
            results = render_go_templates(jobs, missingkey_error=self.missingkey_error)
        except GoTemplateError as exc:
            raise TemplateError(str(exc)) from None
        for (tree_index, string_index), result in zip(places, results, strict=True):
            outputs[tree_index][string_index] = result
        return outputs

    def render_string(self, text: str, params: dict[str, Any], what: str) -> str:
        return str(self.render_trees([text], [params], what)[0])


# --------------------------------------------------------------------------------------
# Applications
# --------------------------------------------------------------------------------------

RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"


def merge_patch(target: Any, patch: Any) -> Any:
    """`patch` over `target`: mappings merge key by key, anything else (lists too) replaces,
    and null deletes, as a merge of Application fields (whose lists carry no merge keys)."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def render_applications(
    appset: ApplicationSet, entries: Sequence[tuple[dict[str, Any], dict[str, Any]]]
) -> list[dict[str, Any]]:
    """One Application manifest per (parameters, template) entry, as Argo CD renders them:
    every string of the template rendered with the parameters, templatePatch merged over it,
    and Argo CD's resources finalizer added when the template names no finalizer and the set
    does not preserve resources on deletion. Raises TemplateError naming the set and field."""
    engine = Engine.of(appset)
    templates = [template for _, template in entries]
    params = [p for p, _ in entries]
    rendered = engine.render_trees(templates, params, "parameter set")
    patches: list[Any] = [None] * len(entries)
    if appset.template_patch:
        texts = engine.render_trees([appset.template_patch] * len(entries), params, "templatePatch of parameter set")
        patches = [_parse_patch(appset, text, index) for index, text in enumerate(texts)]
    apps = []
    for index, (template, patch) in enumerate(zip(rendered, patches, strict=True)):
        if not params[index]:
            template = copy.deepcopy(templates[index])  # Argo CD renders nothing for empty parameters
        doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **copy.deepcopy(template)}
        if patch is not None:
            doc = merge_patch(doc, patch)
        meta = doc.setdefault("metadata", {})
        if not meta.get("finalizers") and not appset.preserve_resources_on_deletion and params[index]:
            meta["finalizers"] = [RESOURCES_FINALIZER]
        apps.append(doc)
    return apps


def _parse_patch(appset: ApplicationSet, text: str, index: int) -> Any:
    try:
        patch = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TemplateError(
            f"ApplicationSet {appset.name}: spec.templatePatch of parameter set {index} does not render to YAML: {exc}"
        ) from None
    if patch is not None and not isinstance(patch, dict):
        raise TemplateError(
            f"ApplicationSet {appset.name}: spec.templatePatch of parameter set {index} must render to a mapping"
        )
    return patch
