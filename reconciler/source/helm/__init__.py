"""Helm chart repositories (HTTP `index.yaml`) and OCI registries, through helm-python-sdk.

    versions     Helm's version constraints (`1.2.*`, `>=1.0 <2.0`, `^1.2`) -> one version
    client       ChartRepositories: versions (cached, shared in Redis like `ls-remote`),
                 archives cached by digest, expanded charts; credentials by URL prefix

Used for `spec.source.chart` and for the `dependencies` of a chart's Chart.yaml.
"""

from reconciler.source.helm.client import ChartFetchError, ChartRepositories, ResolvedChart

__all__ = ["ChartFetchError", "ChartRepositories", "ResolvedChart"]
