"""Copying JSON-shaped values (dicts, lists, scalars) without `copy.deepcopy`'s bookkeeping.

Objects in kubesim are plain parsed JSON, so a structural copy is all a deep copy needs
to do, and several times faster on the apply path.
"""

from __future__ import annotations

from typing import Any


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value; scalars are shared (they are immutable)."""
    kind = type(value)
    if kind is dict:
        return {key: copy_json(item) for key, item in value.items()}
    if kind is list:
        return [copy_json(item) for item in value]
    return value
