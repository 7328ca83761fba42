"""Registered AppProjects as the access checks read them: parsed once per version of the manifest."""

from __future__ import annotations

import json
from functools import lru_cache

from reconciler.model import AppProject, SpecError, parse_project
from reconciler.state import Store


@lru_cache(maxsize=1024)
def _parse(text: str, name: str) -> AppProject | None:
    try:
        return parse_project(json.loads(text), source_file=f"registered project {name}")
    except SpecError:
        return None  # an invalid project grants nothing; its apps report why (catalog.project_for)


def registered_project(store: Store, name: str) -> AppProject | None:
    """The registered AppProject `name`, or None when it is not registered (or cannot be read)."""
    manifest = store.project_manifest(name) if name else None
    if manifest is None:
        return None
    return _parse(json.dumps(manifest, sort_keys=True), name)
