"""The cluster generator: one parameter set per registered cluster its selector matches (the
in-cluster cluster too when the selector is empty and no Secret declares it), as Argo CD."""

from __future__ import annotations

from typing import Any

from reconciler.control.appsets.context import GenerateContext, append_values, label_selector_matches
from reconciler.control.appsets.template import sanitize_name


def generate(ctx: GenerateContext, spec: dict[str, Any], where: str) -> list[dict[str, Any]]:
    selector = spec.get("selector") or {}
    selecting = bool(selector.get("matchLabels") or selector.get("matchExpressions"))
    params: list[dict[str, Any]] = []
    for cluster in ctx.clusters():
        if cluster.local:
            if selecting:
                continue  # Argo CD: a selector leaves out the in-cluster cluster that has no Secret
            entry: dict[str, Any] = {
                "name": cluster.name,
                "nameNormalized": cluster.name,
                "server": cluster.server,
                "project": "",
            }
        else:
            if not label_selector_matches(selector, cluster.labels):
                continue
            entry = {
                "name": cluster.name,
                "nameNormalized": sanitize_name(cluster.name),
                "server": cluster.server,
                "project": cluster.project,
            }
            if ctx.go:
                meta: dict[str, Any] = {}
                if cluster.annotations:
                    meta["annotations"] = dict(cluster.annotations)
                if cluster.labels:
                    meta["labels"] = dict(cluster.labels)
                entry["metadata"] = meta
            else:
                entry.update({f"metadata.annotations.{k}": v for k, v in cluster.annotations.items()})
                entry.update({f"metadata.labels.{k}": v for k, v in cluster.labels.items()})
        append_values(ctx, spec.get("values"), entry, where)
        params.append(entry)
    if spec.get("flatList"):
        return [{"clusters": params}]
    return params
