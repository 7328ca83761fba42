"""What Helm templates see as `.Capabilities`: the destination's version and served APIs.

Plain data, so the pipeline can hand what it discovered on the destination cluster to the
renderer (and into the render cache key) without the renderer talking to a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

# Used when no cluster is known (`reconciler render -f` without a reachable destination).
DEFAULT_KUBE_VERSION = "v1.31.0"


@dataclass(frozen=True)
class Capabilities:
    kube_version: str = DEFAULT_KUBE_VERSION
    # "apps/v1" and "apps/v1/Deployment" forms, as Helm's APIVersions.Has accepts both.
    api_versions: tuple[str, ...] = ()
