"""Redis failover: how long after the Redis primary dies the system completes a sync again.

Starts three redis-servers and three Sentinels (reconciler/state/sentinel_group.py, with the
shortened timings the Helm chart sets: down-after 1 s here, 5 s in the chart), kubesim, two
`reconciler worker`s, beat and the watcher, all configured only through
RECONCILER_REDIS_SENTINELS. Registers `--apps` automated apps and waits until they are synced.
Then, `--kills` times: SIGKILL the primary, push a commit that changes every app at once, and
measure from the kill to the first sync of that commit recorded in history (its `deployedAt`).
The killed server is started again and rejoins as a replica before the next round.

Prints one JSON object (p50, max and every figure in seconds); progress goes to stderr.

    .venv/bin/python bench/redis_failover.py [--apps 5] [--kills 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import GitRepo, KubesimAdmin, ProcessGroup, log, sigterm_as_interrupt
from kubesim.kubeconfig import write_kubeconfig
from reconciler.control import user_actions as actions
from reconciler.model import parse_manifests
from reconciler.settings import Settings
from reconciler.state import Store
from reconciler.state.connection import redis_endpoint
from reconciler.state.sealing import Sealer
from reconciler.state.sentinel_group import DOWN_AFTER_MS, SentinelGroup


def files(apps: list[str], round_number: int) -> dict[str, str]:
    return {
        f"{app}/cm.yaml": (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {app}\ndata:\n  round: \"{round_number}\"\n"
        )
        for app in apps
    }


def manifest(repo: GitRepo, app: str) -> str:
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        f"metadata:\n  name: {app}\n  namespace: argocd\nspec:\n  project: default\n"
        f"  source:\n    repoURL: {repo.url}\n    targetRevision: HEAD\n    path: {app}\n"
        "  destination:\n    server: https://kubernetes.default.svc\n    namespace: default\n"
        "  syncPolicy:\n    automated: {}\n"
    )


def first_sync_of(store: Store, apps: list[str], revision: str) -> float | None:
    """deployedAt of the earliest history entry of `revision` among the apps, if any yet."""
    times = []
    for app in apps:
        try:
            history = store.history(app)
        except Exception:  # the bench's own client mid-failover: ask again
            return None
        times += [float(entry["deployedAt"]) for entry in history if entry.get("revision") == revision]
    return min(times) if times else None


def run(workdir: Path, app_count: int, kills: int, down_after_ms: int) -> dict[str, object]:
    procs = ProcessGroup(workdir)
    group = SentinelGroup(workdir / "redis", down_after_ms=down_after_ms).start()
    try:
        kubesim_proc = procs.start("kubesim", [sys.executable, "-m", "kubesim", "--port", "0"], dict(os.environ),
                                   stdout=-1)
        assert kubesim_proc.stdout is not None
        kubesim = KubesimAdmin(kubesim_proc.stdout.readline().decode().strip().rsplit(" ", 1)[-1])
        env = {
            **{k: v for k, v in os.environ.items() if k != "REDIS_URL"}, **group.environment(),
            "KUBECONFIG": str(write_kubeconfig(workdir / "kubeconfig", kubesim.url)),
            "RECONCILER_DATA_DIR": str(workdir / "data"),
            "RECONCILER_LOCAL_REPO_ROOTS": str(workdir.resolve()),
            "RECONCILER_ENCRYPTION_KEY": "bench-" + "k" * 40,
            "RECONCILER_POLL_INTERVAL": "1",
            "RECONCILER_GIT_REF_CACHE_TTL": "0.2",
            "PYTHONUNBUFFERED": "1",
        }
        settings = Settings.from_env(env)
        store = Store.connect(redis_endpoint(settings), Sealer(settings.encryption_key))
        (workdir / "repo").mkdir()
        repo = GitRepo(workdir / "repo")
        repo.git("init", "-q", "-b", "main")
        apps = [f"fo-{i:02d}" for i in range(app_count)]
        repo.commit(files(apps, 0), message="round 0")
        documents = parse_manifests("---\n".join(manifest(repo, a) for a in apps), source_file="bench")
        actions.create(store, documents, owner="cli")
        cli = [sys.executable, "-m", "reconciler.cli"]
        for i in range(2):
            procs.start(f"worker{i}", [*cli, "worker", "--concurrency", "2", "--loglevel", "WARNING"], env)
        procs.start("beat", [*cli, "beat", "--loglevel", "WARNING"], env)
        procs.start("watch", [*cli, "watch", "--loglevel", "WARNING"], env)
        head = repo.git("rev-parse", "HEAD")
        deadline = time.monotonic() + 180
        while first_sync_of(store, apps, head) is None or any(not store.history(a) for a in apps):
            procs.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError("the first syncs did not finish within 180 s")
            time.sleep(0.5)
        log(f"{app_count} apps synced; killing the primary {kills} times")
        figures = []
        for round_number in range(1, kills + 1):
            group.wait_until_replicated()
            time.sleep(2)
            killed_at = time.time()
            group.servers[[s.port for s in group.servers].index(group.primary_port())].kill()
            head = repo.commit(files(apps, round_number), message=f"round {round_number}")
            deadline = time.monotonic() + 120
            while (done := first_sync_of(store, apps, head)) is None:
                procs.check_alive()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"round {round_number}: no sync completed within 120 s of the kill")
                time.sleep(0.1)
            figures.append(round(done - killed_at, 2))
            log(f"round {round_number}: first sync {figures[-1]} s after the primary died")
            for server in group.servers:
                if not server.alive():
                    server.start()  # rejoins as a replica of the new primary
        store.r.close()
        return {
            "benchmark": "redis_failover",
            "apps": app_count,
            "kills": kills,
            "sentinel_down_after_ms": down_after_ms,
            "death_to_first_sync_seconds": {
                "p50": round(statistics.median(figures), 2),
                "max": max(figures),
                "all": figures,
            },
            "target_p50_seconds": 10,
        }
    finally:
        procs.stop_all()
        group.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=5)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--down-after-ms", type=int, default=DOWN_AFTER_MS,
                        help="Sentinel's down-after-milliseconds (the Helm chart sets 5000)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-failover-"))
    try:
        with sigterm_as_interrupt():
            print(json.dumps(run(workdir, args.apps, args.kills, args.down_after_ms), indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"work directory kept: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
