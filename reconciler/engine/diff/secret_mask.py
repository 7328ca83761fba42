"""Secret values replaced by masks before a diff leaves the core.

Why these masks (Argo CD style, one step stricter):
- A mask is a run of `+` whose length depends only on the ORDER in which distinct
  values of one data key are met (live first, then desired): the first distinct value
  is `++++++++` (8), the next 12, then 16. The real length never shows, so a short
  password and a long key look alike.
- Distinct values of the same key get different masks, so a changed value still shows
  as a changed line in the diff text; equal values get equal masks, so an unchanged
  key shows no change.
- Numbering restarts for every key: two keys holding the same value are not revealed
  as equal (Argo numbers per key as well).
- `+` rather than `*` because Argo CD uses it, so users moving over recognise it.
The `kubectl.kubernetes.io/last-applied-configuration` annotation repeats the Secret in
clear text; it is replaced by a mask as a whole.
"""

from __future__ import annotations

import copy
from typing import Any

from reconciler.model.resources import ResourceKey

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
MASKED_FIELDS = ("data", "stringData")
_FIRST_MASK_LENGTH = 8
_MASK_STEP = 4

JsonObj = dict[str, Any]


def is_secret(key: ResourceKey) -> bool:
    return key.group == "" and key.kind == "Secret"


def mask_for(index: int) -> str:
    """The mask of the `index`-th (0-based) distinct value of one key."""
    return "+" * (_FIRST_MASK_LENGTH + _MASK_STEP * index)


def mask_secret_pair(
    key: ResourceKey, desired: JsonObj | None, live: JsonObj | None
) -> tuple[JsonObj | None, JsonObj | None]:
    """Masked copies of `desired` and `live`; objects that are not Secrets come back as-is."""
    if not is_secret(key):
        return desired, live
    masked_live = copy.deepcopy(live) if live is not None else None
    masked_desired = copy.deepcopy(desired) if desired is not None else None
    sides = [obj for obj in (masked_live, masked_desired) if obj is not None]
    for field_name in MASKED_FIELDS:
        masks_by_key: dict[str, dict[Any, str]] = {}
        for obj in sides:
            values = obj.get(field_name)
            if not isinstance(values, dict):
                if field_name in obj and values is not None:
                    obj[field_name] = mask_for(0)
                continue
            for data_key, value in values.items():
                seen = masks_by_key.setdefault(data_key, {})
                token = _hashable(value)
                if token not in seen:
                    seen[token] = mask_for(len(seen))
                values[data_key] = seen[token]
    for obj in sides:
        annotations = (obj.get("metadata") or {}).get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED_ANNOTATION in annotations:
            annotations[LAST_APPLIED_ANNOTATION] = mask_for(0)
    return masked_desired, masked_live


def _hashable(value: Any) -> Any:
    # Values are strings on a real server; anything else is compared by its repr only
    # to tell equal from different, and the repr itself is never stored.
    return value if isinstance(value, str) else repr(value)
