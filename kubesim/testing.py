"""pytest fixtures for code tested against kubesim: a plugin, `pytest_plugins = ["kubesim.testing"]`.

- `kubesim`: a fresh server on a free port, in this process, controllers off;
- `kube_client`: the official Kubernetes DynamicClient pointed at it, with a private discovery cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubesim import KubeSim


@pytest.fixture
def kubesim() -> Iterator[KubeSim]:
    with KubeSim() as sim:
        yield sim


@pytest.fixture
def kube_client(kubesim: KubeSim, tmp_path: Path) -> Any:
    from kubernetes import client as k8s_client
    from kubernetes.dynamic import DynamicClient

    config = k8s_client.Configuration(host=kubesim.url)
    config.proxy = None
    return DynamicClient(k8s_client.ApiClient(config), cache_file=str(tmp_path / "discovery.json"))
