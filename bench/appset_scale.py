"""How long one ApplicationSet of N generated apps takes to reconcile its Applications.

A private Redis and a real git repository with N folders; a Git directory generator makes one
Application per folder. Measured, each as one generation run (what a worker does for the set):
the first run (N apps created and registered), a run where nothing changed, a run where the
template changed (N apps updated), the same first run in goTemplate mode, and `appset generate`
(the dry run). Prints JSON.

    python bench/appset_scale.py [--apps 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import log


def make_repo(root: Path, apps: int) -> Path:
    repo = root / "repo"
    for index in range(apps):
        folder = repo / "apps" / f"app-{index:04d}"
        folder.mkdir(parents=True)
        (folder / "cm.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-{index}\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "apps"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def appset(repo: Path, go: bool, label: str) -> dict[str, Any]:
    name, path = ("{{ .path.basename }}", "{{ .path.path }}") if go else ("{{path.basename}}", "{{path}}")
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {
            "name": "fleet-go" if go else "fleet",
            "namespace": "argocd",
            "annotations": {"reconciler.io/appset-max-delete-percent": "100"},
        },
        "spec": {
            "goTemplate": go,
            "generators": [
                {"git": {"repoURL": repo.as_uri(), "revision": "HEAD", "directories": [{"path": "apps/*"}]}}
            ],
            "template": {
                "metadata": {"name": (name + "-go") if go else name, "labels": {"rollout": label}},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo.as_uri(), "path": path},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
                    "syncPolicy": {"automated": {"prune": True}},
                },
            },
        },
    }


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return round(time.perf_counter() - started, 3), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="appset-bench-"))
    os.environ["RECONCILER_LOCAL_REPO_ROOTS"] = str(root)
    os.environ["RECONCILER_DATA_DIR"] = str(root / "data")
    from reconciler.control.appsets.actions import generate_preview, register_appset
    from reconciler.control.appsets.reconcile import run_generation
    from reconciler.model.parse_appset import parse_appset
    from reconciler.services import Services
    from reconciler.settings import Settings
    from reconciler.state.redis_server import RedisProcess

    log(f"making a repository with {args.apps} app folders")
    repo = make_repo(root, args.apps)
    redis = RedisProcess(root / "redis").start()
    services = Services.create(dataclasses.replace(Settings.from_env()), redis.url)
    try:
        store = services.store
        figures: dict[str, Any] = {"apps": args.apps}
        register_appset(store, parse_appset(appset(repo, False, "one")))
        figures["first_run_s"], result = timed(lambda: run_generation(services, "fleet"))
        assert result is not None and len(result.created) == args.apps, result
        figures["noop_run_s"], result = timed(lambda: run_generation(services, "fleet"))
        assert result is not None and not (result.created or result.updated or result.deleted)
        register_appset(store, parse_appset(appset(repo, False, "two")))
        figures["update_all_run_s"], result = timed(lambda: run_generation(services, "fleet"))
        assert result is not None and len(result.updated) == args.apps
        register_appset(store, parse_appset(appset(repo, True, "one")))
        figures["go_template_first_run_s"], result = timed(lambda: run_generation(services, "fleet-go"))
        assert result is not None and len(result.created) == args.apps
        figures["generate_dry_run_s"], apps = timed(lambda: generate_preview(services, appset(repo, True, "one")))
        assert len(apps) == args.apps
        figures["registered_apps"] = store.app_count()
        figures["redis_used_mb"] = round(int(store.r.info("memory")["used_memory"]) / 1e6, 1)
        print(json.dumps(figures, indent=2))
    finally:
        services.close()
        redis.stop()


if __name__ == "__main__":
    main()
