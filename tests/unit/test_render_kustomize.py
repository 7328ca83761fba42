"""Kustomize sources: run through a real `kustomize` (or `kubectl kustomize`) binary
when one is on PATH; the missing-binary error is checked with an empty PATH."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from reconciler.model import Application, Destination, KustomizeSource, Source
from reconciler.source.render import RenderError, render
from reconciler.source.render.kustomize import kustomize_command, parse_image_override

needs_kustomize = pytest.mark.skipif(
    kustomize_command() is None, reason="neither kustomize nor kubectl is on PATH (no Debian/PyPI package ships one)"
)

BASE = {
    "base/kustomization.yaml": "resources:\n- deployment.yaml\n- configmap.yaml\n",
    "base/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
""",
    "base/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  k: v\n",
    "overlays/prod/kustomization.yaml": "resources:\n- ../../base\nnamePrefix: prod-\n",
}


def write(tree: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tree


def app(path: str = "overlays/prod", kustomize: KustomizeSource | None = None) -> Application:
    return Application(
        name="web",
        namespace="argocd",
        project="default",
        source=Source(repo_url="https://example.invalid/repo.git", path=path, kustomize=kustomize),
        destination=Destination(server="https://kubernetes.default.svc", namespace="shop"),
    )


def names(objects: list[dict]) -> list[str]:
    return sorted(o["metadata"]["name"] for o in objects)


def test_missing_binary_error_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, BASE)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(RenderError) as caught:
        render(app(), tmp_path)
    assert str(caught.value) == "kustomize is not installed: put a kustomize binary on PATH to render overlays/prod"


@needs_kustomize
def test_overlay_is_built_from_its_base(tmp_path: Path) -> None:
    objects = render(app(), write(tmp_path, BASE))
    assert names(objects) == ["prod-web", "prod-web-config"]
    assert {o["metadata"]["namespace"] for o in objects} == {"shop"}


@needs_kustomize
def test_kustomize_options_are_applied_through_an_overlay(tmp_path: Path) -> None:
    options = KustomizeSource(
        name_prefix="eu-",
        name_suffix="-v2",
        namespace="shop-eu",
        common_labels={"team": "payments"},
        images=("nginx=registry.example/nginx:1.27",),
    )
    objects = render(app(kustomize=options), write(tmp_path, BASE))
    deploy = next(o for o in objects if o["kind"] == "Deployment")
    assert deploy["metadata"]["name"] == "eu-prod-web-v2"
    assert deploy["metadata"]["namespace"] == "shop-eu"
    assert deploy["metadata"]["labels"]["team"] == "payments"
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/nginx:1.27"


@needs_kustomize
def test_build_failure_names_the_kustomization_file(tmp_path: Path) -> None:
    write(tmp_path, {**BASE, "overlays/prod/kustomization.yaml": "resources:\n- missing.yaml\n"})
    with pytest.raises(RenderError) as caught:
        render(app(), tmp_path)
    assert caught.value.file == "overlays/prod/kustomization.yaml"
    assert "missing.yaml" in caught.value.message


@needs_kustomize
def test_rendering_twice_gives_identical_objects(tmp_path: Path) -> None:
    write(tmp_path, BASE)
    assert render(app(), tmp_path) == render(app(), tmp_path)


@needs_kustomize
def test_explicit_kustomize_block_without_options_builds_in_place(tmp_path: Path) -> None:
    objects = render(dataclasses.replace(app(path="base", kustomize=KustomizeSource())), write(tmp_path, BASE))
    assert names(objects) == ["web", "web-config"]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("nginx:1.27", {"name": "nginx", "newTag": "1.27"}),
        ("nginx=registry.example/nginx:1.27", {"name": "nginx", "newName": "registry.example/nginx", "newTag": "1.27"}),
        ("registry.example:5000/app", {"name": "registry.example:5000/app"}),
        ("app@sha256:abc", {"name": "app", "digest": "sha256:abc"}),
    ],
)
def test_argo_image_overrides_become_kustomize_images(image: str, expected: dict[str, str]) -> None:
    assert parse_image_override(image) == expected
