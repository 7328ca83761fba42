"""Desired vs live, per resource: Synced, OutOfSync, Missing or Extra.

Two compare modes, chosen by what the caller could obtain for the desired side:

- `"exact"` (default): `desired` is the result of a server-side DRY-RUN apply of the
  Git manifest onto the live object. The server has already merged, defaulted and
  converted it (`stringData` -> `data`, ports get `protocol: TCP`, ...), so after
  normalisation the two sides must be equal. A field changed by hand that Git sets
  shows up; one Git does not set survives the merge on both sides and does not (the
  same answer server-side apply would give).
- `"subset"`: no dry-run was possible (e.g. the CRD of a custom resource is not
  installed yet) and `desired` is the raw manifest. Only the fields the manifest sets
  are compared; live may carry more (server defaults, controller annotations), so
  defaults never cause a false OutOfSync. Lists are compared position by position
  with the same rule and must have the same length; an empty map/list or null in the
  manifest matches a field that is absent live (`resources: {}` vs nothing).

ignoreDifferences runs first, on the raw objects (it needs live's managedFields), then
both sides are normalised, compared, and finally Secret values are masked. Only masked
copies are stored in a `ResourceDiff`; raw Secret values never leave this module.
"""

from __future__ import annotations

import base64
import copy
import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import yaml

from reconciler.engine.diff.ignore import apply_ignore_differences
from reconciler.engine.diff.secret_mask import LAST_APPLIED_ANNOTATION, mask_secret_pair
from reconciler.model import ResourceIgnoreDifferences
from reconciler.model.resources import COMPARE_OPTIONS_ANNOTATION, ResourceKey

CompareMode = Literal["exact", "subset"]
JsonObj = dict[str, Any]

# Server-owned bookkeeping: it changes on every write and is never in Git.
_SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
)


class ResourceSyncStatus(StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    MISSING = "Missing"  # in Git, not live
    EXTRA = "Extra"  # live with our tracking, not in Git: a prune candidate
    UNKNOWN = "Unknown"  # the app's project does not permit it: never applied or pruned (Argo CD)


class AppSyncStatus(StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"  # set by callers when desired or live could not be read


@dataclass(frozen=True)
class ResourceDiff:
    """The comparison of one object. `desired`/`live` are normalised and masked copies."""

    key: ResourceKey
    status: ResourceSyncStatus
    desired: JsonObj | None
    live: JsonObj | None
    text: str  # unified diff of YAML, live -> desired; "" when Synced


def annotation_options(obj: Mapping[str, Any] | None, annotation: str) -> dict[str, str]:
    """`Name=value` options of a comma-separated annotation, e.g. `Prune=false,PruneLast=true`.

    A bare `Name` maps to "". Names keep their case; values are stripped.
    """
    if not obj:
        return {}
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(annotation)
    if not isinstance(raw, str):
        return {}
    options: dict[str, str] = {}
    for part in raw.split(","):
        name, _, value = part.partition("=")
        if name.strip():
            options[name.strip()] = value.strip()
    return options


def normalize(obj: JsonObj) -> JsonObj:
    """A copy of `obj` without what the server owns, ready to compare.

    Drops metadata.managedFields/resourceVersion/uid/generation/creationTimestamp/
    selfLink, `status`, the last-applied-configuration annotation, and labels or
    annotations maps left empty. A core Secret's `stringData` is folded into `data`
    (base64), as the API server does on write, so a manifest using `stringData`
    compares equal to the stored object.
    """
    result = copy.deepcopy(obj)
    result.pop("status", None)
    metadata = result.get("metadata")
    if isinstance(metadata, dict):
        for name in _SERVER_METADATA:
            metadata.pop(name, None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED_ANNOTATION, None)
        for name in ("labels", "annotations"):
            if name in metadata and not metadata[name]:
                del metadata[name]
    if result.get("apiVersion") == "v1" and result.get("kind") == "Secret":
        _fold_string_data(result)
    return result


def _fold_string_data(secret: JsonObj) -> None:
    string_data = secret.pop("stringData", None)
    if not isinstance(string_data, dict) or not string_data:
        return
    data = secret.get("data")
    data = dict(data) if isinstance(data, dict) else {}
    for name, value in string_data.items():
        data[name] = base64.b64encode(str(value).encode()).decode()
    secret["data"] = data


# --- comparison ---------------------------------------------------------------


def is_subset(desired: Any, live: Any) -> bool:
    """True when every field `desired` sets has the same value in `live` (see module doc)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return live is None and not desired
        for name, value in desired.items():
            if name not in live:
                if not _is_empty(value):
                    return False
            elif not is_subset(value, live[name]):
                return False
        return True
    if isinstance(desired, list):
        if not isinstance(live, list):
            return live is None and not desired
        if len(desired) != len(live):
            return False
        return all(is_subset(d, lv) for d, lv in zip(desired, live, strict=True))
    if desired is None:
        return live is None
    return bool(desired == live)


def _is_empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def _project(live: Any, desired: Any) -> Any:
    """`live` cut down to the fields `desired` sets, so subset-mode text shows no defaults."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return {name: _project(live[name], value) for name, value in desired.items() if name in live}
    if isinstance(desired, list) and isinstance(live, list):
        shared = [_project(lv, d) for d, lv in zip(desired, live, strict=False)]
        return shared + live[len(desired) :]
    return live


# libyaml's emitter when PyYAML was built with it: the same text, four times faster than the
# pure-Python one (every Missing or OutOfSync resource of every compare is dumped).
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _yaml(obj: JsonObj | None) -> list[str]:
    if obj is None:
        return []
    text = yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False)
    return text.splitlines(keepends=True)


def _diff_text(key: ResourceKey, live: JsonObj | None, desired: JsonObj | None) -> str:
    lines = difflib.unified_diff(_yaml(live), _yaml(desired), fromfile=f"live/{key}", tofile=f"desired/{key}")
    return "".join(lines)


def diff_resource(
    key: ResourceKey,
    desired: JsonObj | None,
    live: JsonObj | None,
    ignore: Sequence[ResourceIgnoreDifferences] = (),
    *,
    mode: CompareMode = "exact",
) -> ResourceDiff:
    """Compare one object. `desired` None: Extra; `live` None: Missing."""
    if desired is None and live is None:
        raise ValueError(f"diff_resource({key}): desired and live are both None; pass at least one object")
    if mode not in ("exact", "subset"):
        raise ValueError(f"diff_resource({key}): mode must be 'exact' or 'subset', not {mode!r}")
    desired, live = apply_ignore_differences(key, desired, live, ignore)
    norm_desired = normalize(desired) if desired is not None else None
    norm_live = normalize(live) if live is not None else None

    if norm_live is None:
        status = ResourceSyncStatus.MISSING
    elif norm_desired is None:
        status = ResourceSyncStatus.EXTRA
    else:
        same = is_subset(norm_desired, norm_live) if mode == "subset" else norm_desired == norm_live
        status = ResourceSyncStatus.SYNCED if same else ResourceSyncStatus.OUT_OF_SYNC

    masked_desired, masked_live = mask_secret_pair(key, norm_desired, norm_live)
    text = ""
    if status != ResourceSyncStatus.SYNCED:
        live_view = norm_live
        if mode == "subset" and norm_live is not None and norm_desired is not None:
            live_view = _project(norm_live, norm_desired)
        shown_desired, shown_live = mask_secret_pair(key, norm_desired, live_view)
        text = _diff_text(key, shown_live, shown_desired)
    return ResourceDiff(key=key, status=status, desired=masked_desired, live=masked_live, text=text)


def diff_resources(
    desired_by_key: Mapping[ResourceKey, JsonObj],
    live_by_key: Mapping[ResourceKey, JsonObj],
    ignore: Sequence[ResourceIgnoreDifferences] = (),
    *,
    mode: CompareMode | Mapping[ResourceKey, CompareMode] = "exact",
) -> list[ResourceDiff]:
    """Diff every object of either side, sorted by key.

    `live_by_key` must hold only objects carrying this app's tracking: a live object
    with no desired counterpart is reported Extra (a prune candidate). `mode` is one
    mode for all, or a per-key mapping (keys absent from it compare "exact").
    """
    diffs = []
    for key in sorted(set(desired_by_key) | set(live_by_key)):
        key_mode: CompareMode = mode if isinstance(mode, str) else mode.get(key, "exact")
        diffs.append(diff_resource(key, desired_by_key.get(key), live_by_key.get(key), ignore, mode=key_mode))
    return diffs


def app_sync_status(diffs: Iterable[ResourceDiff]) -> AppSyncStatus:
    """Synced when every resource is; an app with no resources is Synced.

    Extra objects count as OutOfSync (they need pruning) unless the live object carries
    `argocd.argoproj.io/compare-options: IgnoreExtraneous`, as in Argo CD.
    """
    for diff in diffs:
        if diff.status == ResourceSyncStatus.SYNCED:
            continue
        if diff.status == ResourceSyncStatus.EXTRA and "IgnoreExtraneous" in annotation_options(
            diff.live, COMPARE_OPTIONS_ANNOTATION
        ):
            continue
        return AppSyncStatus.OUT_OF_SYNC
    return AppSyncStatus.SYNCED
