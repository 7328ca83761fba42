"""Kustomize sources: `kustomize build` (or `kubectl kustomize`) run on the snapshot.

Argo CD applies `spec.source.kustomize` options with `kustomize edit` inside the
checkout; the snapshot here is read-only and shared, so the options go into a
temporary overlay whose only resource is the source directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from reconciler.model import KustomizeSource
from reconciler.source.render.errors import RenderError
from reconciler.source.render.manifests import Manifest, parse_yaml_stream
from reconciler.source.render.paths import relative_name

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
BUILD_TIMEOUT_SECONDS = 120
_STDERR_LIMIT = 2000


def find_kustomization(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


def kustomize_command() -> list[str] | None:
    """`kustomize build`, else `kubectl kustomize`, else None when neither is on PATH."""
    if binary := shutil.which("kustomize"):
        return [binary, "build"]
    if binary := shutil.which("kubectl"):
        return [binary, "kustomize"]
    return None


def render_kustomize(tree: Path, source_dir: Path, options: KustomizeSource | None) -> list[Manifest]:
    """Objects Kustomize builds from `source_dir`, with Argo CD's kustomize options applied."""
    directory = relative_name(tree, source_dir)
    command = kustomize_command()
    if command is None:
        raise RenderError(f"kustomize is not installed: put a kustomize binary on PATH to render {directory}")
    kustomization = find_kustomization(source_dir)
    origin = relative_name(tree, kustomization) if kustomization else directory
    settings = overlay_settings(options)
    if not settings:
        output = _build(command, source_dir, origin)
    else:
        with tempfile.TemporaryDirectory(prefix="reconciler-kustomize-") as scratch:
            # Kustomize refuses absolute resource paths: point at the source relatively.
            source = Path(os.path.relpath(source_dir.resolve(), Path(scratch).resolve())).as_posix()
            overlay: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
            overlay |= {"resources": [source], **settings}
            Path(scratch, "kustomization.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))
            output = _build(command, Path(scratch), origin)
    return parse_yaml_stream(output, origin)


def overlay_settings(options: KustomizeSource | None) -> dict[str, Any]:
    """Kustomization fields that apply Argo CD's `kustomize` options; empty when none are set."""
    if options is None:
        return {}
    settings: dict[str, Any] = {}
    if options.name_prefix:
        settings["namePrefix"] = options.name_prefix
    if options.name_suffix:
        settings["nameSuffix"] = options.name_suffix
    if options.namespace:
        settings["namespace"] = options.namespace
    if options.common_labels:
        settings["labels"] = [{"pairs": dict(sorted(options.common_labels.items())), "includeSelectors": True}]
    if options.images:
        settings["images"] = [parse_image_override(image) for image in options.images]
    return settings


def parse_image_override(image: str) -> dict[str, str]:
    """Argo CD's `images` entry (`name[=newName][:tag][@digest]`) as a kustomize image."""
    name, equals, target = image.partition("=")
    reference = target if equals else image
    entry: dict[str, str] = {}
    reference, at, digest = reference.partition("@")
    if at:
        entry["digest"] = digest
    repository, tag = reference, ""
    if ":" in reference.rsplit("/", 1)[-1]:
        repository, _, tag = reference.rpartition(":")
    if tag:
        entry["newTag"] = tag
    if equals:
        entry["newName"] = repository
        return {"name": name, **entry}
    return {"name": repository, **entry}


def _build(command: list[str], directory: Path, origin: str) -> str:
    try:
        completed = subprocess.run(
            [*command, str(directory)],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(f"kustomize build took longer than {BUILD_TIMEOUT_SECONDS} s", file=origin) from None
    except OSError as err:
        raise RenderError(f"cannot run {command[0]}: {err.strerror}", file=origin) from None
    if completed.returncode != 0:
        message = completed.stderr.strip()[-_STDERR_LIMIT:] or f"exit status {completed.returncode}"
        raise RenderError(f"kustomize build failed: {message}", file=origin)
    return completed.stdout
