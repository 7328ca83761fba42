"""Issue 22: a Git writer of one repository cannot make a render read a file outside it (the
worker's /etc/passwd, its environment, another repository's snapshot): Jsonnet imports, Helm's
`.Files` and value files, kustomize's generators, patches and resources, each through an
absolute path, `..`, or a symlink committed to the repository. Each is refused naming the file;
none reaches a rendered object. Rendered through `render()`, the one entry point polls, syncs,
previews and the CLI share."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.model import parse_manifests
from reconciler.source.render import RenderError, render

CHART = "apiVersion: v2\nname: c\nversion: 0.1.0\n"
JSONNET = "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'x'}, data: {p: importstr '%s'}}"
FILES_GET = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {p: {{ .Files.Get "%s" | quote }}}\n'


def application(path: str, helm: str = "") -> object:
    extra = f", helm: {helm}" if helm else ""
    return parse_manifests(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: probe, namespace: argocd}\n"
        f"spec:\n  project: default\n  source: {{repoURL: 'https://example.com/r.git', path: app{extra}}}\n"
        "  destination: {server: 'https://kubernetes.default.svc', namespace: probe}\n",
        source_file="app.yaml",
    )[0]


def chart(app: Path, template: str) -> None:
    (app / "templates").mkdir(parents=True)
    (app / "Chart.yaml").write_text(CHART)
    (app / "templates/cm.yaml").write_text(template)


def write(app: Path, name: str, text: str) -> None:
    app.mkdir(parents=True, exist_ok=True)
    (app / name).write_text(text)


def link(app: Path, name: str, target: str) -> None:
    (app / name).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, app / name)


ATTACKS: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "jsonnet-importstr-absolute": (
        lambda app: write(app, "main.jsonnet", JSONNET % "/etc/passwd"), "", "absolute imports are not allowed"),
    "jsonnet-importstr-dotdot": (
        lambda app: write(app, "main.jsonnet", JSONNET % "../../../../../../etc/passwd"), "", "leaves the repository"),
    "jsonnet-importstr-symlink": (
        lambda app: (write(app, "main.jsonnet", JSONNET % "p.txt"), link(app, "p.txt", "/etc/passwd")), "",
        "symlink points outside the repository"),
    "jsonnet-main-file-symlink": (
        lambda app: link(app, "main.jsonnet", "/etc/passwd"), "", "symlink points outside the repository"),
    "helm-files-get-symlinked-file": (
        lambda app: (chart(app, FILES_GET % "files/passwd"), link(app, "files/passwd", "/etc/passwd")), "",
        "symlink points outside the repository"),
    "helm-files-get-symlinked-folder": (
        lambda app: (chart(app, FILES_GET % "files/etc/passwd"), link(app, "files/etc", "/etc")), "",
        "symlink points outside the repository"),
    "helm-value-file-absolute": (
        lambda app: chart(app, FILES_GET % "x"), "{valueFiles: [/etc/passwd]}", "is absolute"),
    "helm-value-file-dotdot": (
        lambda app: chart(app, FILES_GET % "x"), "{valueFiles: [../../../../../../etc/passwd]}",
        "resolves outside the repository"),
    "kustomize-generator-file-absolute": (
        lambda app: write(app, "kustomization.yaml", "configMapGenerator:\n- name: x\n  files: [/etc/passwd]\n"), "",
        "is not in or below"),
    "kustomize-generator-env-of-the-process": (
        lambda app: write(app, "kustomization.yaml", "configMapGenerator:\n- name: x\n  envs: [/proc/self/environ]\n"),
        "", "is not in or below"),
    "kustomize-generator-file-symlink": (
        lambda app: (write(app, "kustomization.yaml", "configMapGenerator:\n- name: x\n  files: [p]\n"),
                     link(app, "p", "/etc/passwd")), "", "symlink points outside the repository"),
    "kustomize-patch-absolute": (
        lambda app: write(app, "kustomization.yaml", "patches:\n- path: /etc/passwd\n"), "", "is not in or below"),
    "kustomize-resource-absolute": (
        lambda app: write(app, "kustomization.yaml", "resources: [/etc/passwd]\n"), "",
        "points outside the repository"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_render_never_reads_a_file_outside_the_repository(tmp_path: Path, attack: str) -> None:
    plant, helm, refusal = ATTACKS[attack]
    tree = tmp_path / "repo"
    (tree / "app").mkdir(parents=True)
    plant(tree / "app")
    try:
        objects = render(application("app", helm), tree)  # type: ignore[arg-type]
    except RenderError as err:
        assert refusal in str(err)
        assert err.file is None or err.file.startswith("app"), err.file
        return
    assert "root:" not in json.dumps(objects), "the worker's /etc/passwd reached a rendered object"
    pytest.fail(f"rendered without refusing: {objects}")


def test_helm_files_get_of_a_path_outside_the_chart_is_empty(tmp_path: Path) -> None:
    # Helm's .Files holds the chart's own files only: `..` names nothing (as in Helm).
    tree = tmp_path / "repo"
    chart(tree / "app", FILES_GET % "../../../../../../etc/passwd")
    [config_map] = render(application("app"), tree)  # type: ignore[arg-type]
    assert config_map["data"] == {"p": ""}
