"""A kubeconfig for a kubesim server, so any kubeconfig-reading client (kubectl, the
reconciler, the official Python client) can talk to it."""

from __future__ import annotations

from pathlib import Path


def kubeconfig_text(server: str, name: str = "kubesim") -> str:
    """One cluster, one credential-less user, one current context."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {name}\n  cluster:\n    server: {server}\n"
        f"users:\n- name: {name}\n  user: {{}}\n"
        f"contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n"
        f"current-context: {name}\n"
    )


def write_kubeconfig(path: Path, server: str) -> Path:
    path.write_text(kubeconfig_text(server))
    return path
