"""How long a pull-request preview takes for a one-app change among N registered apps.

A private Redis, an in-process kubesim and a real git repository with N app folders (one
ConfigMap each), N Applications registered on it. Each round commits a change to one app's
folder on a branch and runs the preview of base..head as a worker does
(reconciler/control/previews/run.py: the apps whose paths the change touches are rendered at
base and head through the render cache, and compared with the cluster by dry-run). Prints JSON:
p50/p95/max of a preview, how many apps each rendered and how many kubesim requests it made.

    python bench/preview_scale.py [--apps 1000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import GIT_ENV, log

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  round: \"{round}\"\n"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(root: Path, apps: int) -> Path:
    repo = root / "repo"
    for index in range(apps):
        folder = repo / "apps" / f"app-{index:04d}"
        folder.mkdir(parents=True)
        (folder / "cm.yaml").write_text(CONFIGMAP.format(name=f"app-{index:04d}", round=0))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "apps")
    return repo


def application(repo: Path, index: int) -> dict[str, Any]:
    name = f"app-{index:04d}"
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.as_uri(), "path": f"apps/{name}", "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
        },
    }


def change_one_app(repo: Path, round_number: int, apps: int) -> tuple[str, str]:
    """(base, head): a branch off main changing one app's ConfigMap."""
    base = git(repo, "rev-parse", "main")
    index = (round_number * 37) % apps
    git(repo, "checkout", "-q", "-B", f"change-{round_number}", "main")
    target = repo / "apps" / f"app-{index:04d}" / "cm.yaml"
    target.write_text(CONFIGMAP.format(name=f"app-{index:04d}", round=round_number + 1))
    git(repo, "commit", "-qam", f"change app-{index:04d}")
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    return base, head


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="preview-bench-"))
    os.environ["RECONCILER_LOCAL_REPO_ROOTS"] = str(root)
    os.environ["RECONCILER_DATA_DIR"] = str(root / "data")
    from kubesim import KubeSim
    from kubesim.kubeconfig import write_kubeconfig
    from reconciler.control.catalog import register
    from reconciler.control.previews.document import summary
    from reconciler.control.previews.request import PreviewRequest
    from reconciler.control.previews.run import run_preview
    from reconciler.model import parse_application
    from reconciler.services import Services
    from reconciler.settings import Settings
    from reconciler.state.redis_server import RedisProcess

    log(f"making a repository with {args.apps} app folders")
    repo = make_repo(root, args.apps)
    redis = RedisProcess(root / "redis").start()
    with KubeSim() as sim:
        kubeconfig = write_kubeconfig(root / "kubeconfig", sim.url)
        settings = dataclasses.replace(Settings.from_env(), kubeconfig=str(kubeconfig))
        services = Services.create(settings, redis.url)
        try:
            register(services.store, [parse_application(application(repo, i)) for i in range(args.apps)])
            log(f"{args.apps} apps registered; {args.rounds} previews of a one-app change")
            seconds, rendered, requests = [], [], []
            for number in range(args.rounds):
                base, head = change_one_app(repo, number, args.apps)
                sim.api.clear_log()
                started = time.perf_counter()
                document = run_preview(services, PreviewRequest(repo.as_uri(), base, head))
                seconds.append(time.perf_counter() - started)
                counts = summary(document)
                assert counts["changed"] == 1 and counts["unchanged"] == args.apps - 1, counts
                rendered.append(counts["changed"])
                requests.append(len(sim.api.requests()))
            print(json.dumps({
                "apps": args.apps,
                "rounds": args.rounds,
                "preview_p50_s": round(statistics.median(seconds), 3),
                "preview_p95_s": round(percentile(seconds, 0.95), 3),
                "preview_max_s": round(max(seconds), 3),
                "first_preview_s": round(seconds[0], 3),
                "apps_rendered_per_preview": max(rendered),
                "kubesim_requests_per_preview_p50": statistics.median(requests),
                "target_p50_s": 2.0,
            }, indent=2))
        finally:
            services.close()
            redis.stop()


if __name__ == "__main__":
    main()
