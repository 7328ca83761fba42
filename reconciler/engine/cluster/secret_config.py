"""A Kubernetes client configuration from an Argo CD cluster Secret's `config`.

Argo CD connects to a cluster declared by a Secret (`argocd.argoproj.io/secret-type: cluster`)
with the credentials in its `config` JSON: `bearerToken`, or `username`/`password`, and
`tlsClientConfig` (`insecure`, `caData`, `certData`, `keyData`, `serverName`; the `*Data` fields
base64 of PEM). The Python client reads certificates from files only, so the PEM blocks go to
files in a private directory (0700, files 0600) removed when the process exits, as the client's
own kubeconfig loader does. No credential reaches a message: errors name the field.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import hashlib
import json
import os
import shutil
import tempfile
import threading
from typing import Any
from urllib.parse import urlparse

from kubernetes import client as k8s_client

from reconciler.engine.cluster.errors import KubeError
from reconciler.model.appset_types import ClusterSecret

_files_lock = threading.Lock()
_files_dir: str | None = None


def _private_dir() -> str:
    global _files_dir
    with _files_lock:
        if _files_dir is None:
            _files_dir = tempfile.mkdtemp(prefix="reconciler-cluster-tls-")  # mkdtemp makes it 0700
            atexit.register(shutil.rmtree, _files_dir, True)
        return _files_dir


def _pem_file(cluster: ClusterSecret, field: str, encoded: str) -> str:
    """The decoded PEM of `tlsClientConfig.<field>` in a private file named by its content's hash
    (the same certificate is written once, a rotated one gets a new file)."""
    try:
        pem = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise KubeError(
            f"cluster {cluster.name!r} (Secret {cluster.namespace}/{cluster.secret_name}): "
            f"config.tlsClientConfig.{field} is not base64; put the base64 of the PEM there, as Argo CD does"
        ) from None
    if b"-----BEGIN" not in pem:
        raise KubeError(
            f"cluster {cluster.name!r} (Secret {cluster.namespace}/{cluster.secret_name}): "
            f"config.tlsClientConfig.{field} does not hold a PEM block; put the base64 of the PEM file there"
        )
    path = os.path.join(_private_dir(), f"{field}-{hashlib.sha256(pem).hexdigest()[:16]}.pem")
    if not os.path.exists(path):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as fh:
            fh.write(pem)
    return path


def config_fingerprint(cluster: ClusterSecret) -> str:
    """Changes when the server or any credential changes, so a rotated token gets a new client."""
    material = json.dumps({"server": cluster.server, "config": cluster.config}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


def _authorization(cluster: ClusterSecret) -> str:
    config = cluster.config
    token = config.get("bearerToken")
    if token:
        return f"Bearer {token}"
    username, password = config.get("username"), config.get("password")
    if username or password:
        return "Basic " + base64.b64encode(f"{username or ''}:{password or ''}".encode()).decode()
    return ""


def api_client_for_secret(cluster: ClusterSecret) -> k8s_client.ApiClient:
    """A client of `cluster.server` authenticated and verified as the Secret's config says."""
    configuration = k8s_client.Configuration(host=cluster.server.rstrip("/"))
    authorization = _authorization(cluster)
    if authorization:
        configuration.api_key = {"authorization": authorization}
    tls: dict[str, Any] = cluster.config.get("tlsClientConfig") or {}
    if tls.get("insecure"):
        configuration.verify_ssl = False
    if tls.get("caData"):
        configuration.ssl_ca_cert = _pem_file(cluster, "caData", str(tls["caData"]))
    if tls.get("certData") or tls.get("keyData"):
        if not (tls.get("certData") and tls.get("keyData")):
            raise KubeError(
                f"cluster {cluster.name!r} (Secret {cluster.namespace}/{cluster.secret_name}): "
                "config.tlsClientConfig needs both certData and keyData for a client certificate"
            )
        configuration.cert_file = _pem_file(cluster, "certData", str(tls["certData"]))
        configuration.key_file = _pem_file(cluster, "keyData", str(tls["keyData"]))
    if tls.get("serverName"):
        configuration.tls_server_name = str(tls["serverName"])
    if urlparse(cluster.server).hostname in ("127.0.0.1", "localhost", "::1"):
        configuration.proxy = None  # a proxy setting of the environment never applies to loopback
    return k8s_client.ApiClient(configuration)
