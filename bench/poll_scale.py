"""Polling at scale: N apps of 10 resources each, real workers and beat, one no-op round.

For each N (default 100 and 1,000) it starts a private redis-server, kubesim (simulated
controllers on, so Deployments become Healthy), `--workers` `reconciler worker`
subprocesses (Celery prefork, `--concurrency` children each) and a `reconciler beat`
subprocess; registers N automated directory apps (5 ConfigMaps, 3 Services, 2
Deployments) spread over `--repos` local git repositories (file:// URLs, one path per
app); waits until every app is Synced and Healthy; lets the system go quiet and the
workers' shared ref listings expire (RECONCILER_GIT_REF_CACHE_TTL, default 10 s, as
after a real poll interval); then makes every app due at once in beat's schedule
(Store.schedule_poll(name, at=0)) and measures that round of no-op polls.

Prints one JSON object per N on its own line (JSON Lines); progress goes to stderr.

    .venv/bin/python bench/poll_scale.py [--apps 100] [--workers 2] [--concurrency 2]
    .venv/bin/python bench/poll_scale.py --apps 10000 --timeout 14400   # the issue-14 scale run

Figures (per no-op poll = divided by N):
- api_requests_per_noop_poll, api_requests_by_verb: kubesim's counters over the round.
- dry_runs_per_noop_poll: PATCH requests with dryRun in kubesim's request log.
- renders_per_noop_poll: polls whose status says the render cache missed (renderCacheHit).
- git_ls_remote_per_noop_poll, git_fetch_per_noop_poll: the workers' git request counters,
  which each worker flushes to Redis after every task (reconciler/telemetry.py).
- noop_polls_per_second: N / (last poll finished - round scheduled); includes beat's
  1 s tick and queueing.
- poll_p50_seconds, poll_p95_seconds: reconciledAt - observedAt of each app's status
  (the poll's own work, without time in the queue).
- worker_rss_mb: VmRSS summed over the worker processes and their pool children;
  worker_rss_mb_largest_process: the largest one of them.
- worker_cpu_ms_per_noop_poll: the workers' CPU time (user+system, all processes) over the
  round divided by N: the poll itself plus Celery's share of receiving and acking its task;
  poll_cpu_ms_p50/p95: the poll's own CPU (thread time up to writing its status, `pollCpuMs`).
- noop_polls_from_watch: polls whose status says the live state came from the watcher's
  index (liveState "watch") rather than a LIST; round_fits_poll_interval: the whole round
  (every app due at once) ended within the default 180 s poll interval.
- watcher_rss_mb, redis_used_memory_mb: memory of the `reconciler watch` process and Redis.
- load_average_1m_after_round: the machine's load, since other work on it slows every figure.

First sync (registration until every app is Synced and Healthy):
- first_sync_cpu_seconds_by_process: CPU seconds each part of the system used meanwhile
  (workers, kubesim, the watcher, Redis, beat, this benchmark), to say whether the time went
  to our code, to the emulated API server or to the broker;
- first_sync_per_app: polls, kubesim requests by verb and Redis commands, per app.

The watcher (`reconciler watch`) runs unless --no-watch (then polls LIST as before it existed).

--profile: the workers run under py-spy during the first sync, whose samples are summarised
by part of the system (render, Kubernetes API client, Redis, Celery task hops, ...) in
`first_sync_profile`; the run ends after the first sync (stopping py-spy ends the workers).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bench._harness import BenchSystem, GitRepo, log, sigterm_as_interrupt
from bench._profile import summarise
from reconciler.control.catalog import register
from reconciler.model import parse_application
from reconciler.state import Keys, Store
from reconciler.telemetry import FLUSH_INTERVAL_SECONDS, RECONCILE_SUM_FIELD

RESOURCES_PER_APP = 10
POLL_INTERVAL_SECONDS = 3600  # beat sends only the polls this benchmark schedules
DEFAULT_POLL_INTERVAL = 180.0  # what a round of every app must fit in
DEFAULT_REF_CACHE_TTL = 10.0


# --- the apps ------------------------------------------------------------------------


def app_files(app: str) -> dict[str, str]:
    """5 ConfigMaps, 3 Services and 2 Deployments, in three files of the app's directory."""
    configmaps = "\n---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {app}-config-{k}\n"
        f"data:\n  app: {app}\n  index: \"{k}\"\n  settings.yaml: |\n    level: info\n    replicas: 1\n"
        for k in range(5)
    )
    services = "\n---\n".join(
        f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}-svc-{k}\n"
        f"spec:\n  selector:\n    app: {app}-web-{k % 2}\n  ports:\n  - port: {80 + k}\n    targetPort: 8080\n"
        for k in range(3)
    )
    deployments = "\n---\n".join(
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}-web-{k}\n"
        f"spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {app}-web-{k}\n"
        f"  template:\n    metadata:\n      labels:\n        app: {app}-web-{k}\n"
        f"    spec:\n      containers:\n      - name: web\n        image: registry.example.com/web:1.{k}\n"
        for k in range(2)
    )
    base = f"apps/{app}"
    return {f"{base}/configmaps.yaml": configmaps, f"{base}/services.yaml": services,
            f"{base}/deployments.yaml": deployments}


def application(name: str, repo: GitRepo, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url, "targetRevision": "main", "path": f"apps/{name}"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def app_names(count: int) -> list[str]:
    return [f"app-{i:04d}" for i in range(count)]


def create_apps(system: BenchSystem, count: int, repos: int) -> list[str]:
    """Commit every app's files into its repo, make the namespaces, register the apps."""
    assert system.store is not None and system.kubesim is not None
    names = app_names(count)
    manifests = []
    for r in range(repos):
        mine = names[r::repos]
        files: dict[str, str] = {"README.md": f"bench repository {r}\n"}
        for name in mine:
            files.update(app_files(name))
        repo = system.make_repo(f"config-{r}", files)
        namespace = f"bench-{r}"
        system.kubesim.create_namespace(namespace)
        manifests += [application(name, repo, namespace) for name in mine]
    # Registered apps poll first within a few seconds (registry.FIRST_POLL_SPREAD_SECONDS).
    register(system.store, [parse_application(m, source_file=f"bench app {m['metadata']['name']}")
                            for m in manifests])
    return names


# --- waiting -------------------------------------------------------------------------


def synced_and_healthy(store: Store, names: list[str]) -> tuple[int, int]:
    statuses = store.statuses(names)
    synced = healthy = 0
    for status in statuses.values():
        if status and status.get("sync", {}).get("status") == "Synced":
            synced += 1
            if status.get("health", {}).get("status") == "Healthy":
                healthy += 1
    return synced, healthy


def wait_first_sync(system: BenchSystem, names: list[str], timeout: float) -> tuple[float, float]:
    """Seconds from registration until every app is Synced, and until every app is also Healthy."""
    assert system.store is not None
    started = time.monotonic()
    all_synced: float | None = None
    last_report = 0.0
    # Only the apps not Synced and Healthy yet are read again: reading every status twice a
    # second costs this process (on the same 2 cores as the system) more than it tells.
    pending = list(names)
    while True:
        system.procs.check_alive()
        statuses = system.store.statuses(pending)
        synced_pending, still = 0, []
        for name in pending:
            status = statuses.get(name) or {}
            synced_now = status.get("sync", {}).get("status") == "Synced"
            synced_pending += synced_now
            if not (synced_now and status.get("health", {}).get("status") == "Healthy"):
                still.append(name)
        healthy = len(names) - len(still)
        synced = healthy + synced_pending - (len(pending) - len(still))
        pending = still
        now = time.monotonic()
        if all_synced is None and synced == len(names):
            all_synced = now - started
        if not pending:
            return all_synced if all_synced is not None else now - started, now - started
        if now - last_report > 10:
            log(f"first sync: {synced}/{len(names)} Synced, {healthy} Healthy after {now - started:.0f}s")
            last_report = now
        if now - started > timeout:
            raise TimeoutError(f"first sync: only {synced}/{len(names)} apps Synced and {healthy} Healthy "
                               f"after {timeout:.0f}s; raise --timeout, or see the logs in {system.workdir}")
        # Half a second per 1,000 apps still waited for: at 10,000 a read of every status
        # would otherwise take a fifth of a core from the system under test.
        time.sleep(max(0.5, len(pending) / 2000))


def quiet(system: BenchSystem) -> bool:
    """Nothing queued or running, and no poll due in the next minute."""
    assert system.store is not None
    due_soon = system.store.r.zcount(Keys.schedule, "-inf", time.time() + 60)
    return due_soon == 0 and system.queues_idle()


# --- the no-op round -----------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def history_total(store: Store, names: list[str]) -> int:
    with store.r.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.llen(Keys.history(name))
        return sum(pipe.execute())


def work_done(system: BenchSystem) -> dict[str, float]:
    """Counters of work so far: polls (the workers' reconcile-time histogram), kubesim's
    requests by verb, and the commands Redis processed (every process's, Celery's included)."""
    assert system.store is not None and system.kubesim is not None
    reconciles = system.store.r.hgetall(Keys.metrics_reconcile)
    counters = {"polls": float(sum(float(v) for k, v in reconciles.items() if k != RECONCILE_SUM_FIELD))}
    counters.update({f"api_{verb}": float(n) for verb, n in system.kubesim.stats().items()})
    counters["redis_commands"] = float(system.store.r.info("stats")["total_commands_processed"])
    # ... and by command (INFO commandstats: what MONITOR would count, without its cost)
    for name, stats in system.store.r.info("commandstats").items():
        counters[f"redis_{name.removeprefix('cmdstat_')}"] = float(stats["calls"])
    return counters


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """How much each counter grew between two readings."""
    return {key: after[key] - before.get(key, 0.0) for key in after}


def per_app(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    return {key: round(grown / count, 2) for key, grown in sorted(spent(before, after).items())}


def first_sync_per_object(work: dict[str, float], cpu: dict[str, float], apps: int) -> dict[str, float]:
    """What one tracked object's first sync cost: Redis commands, API requests, the workers' CPU
    (targets of issue 31: at most 100 commands and 2.2 requests per object)."""
    objects = apps * RESOURCES_PER_APP
    return {
        "redis_commands": round(work.get("redis_commands", 0.0) / RESOURCES_PER_APP, 2),
        "api_requests": round(work.get("api_total", 0.0) / RESOURCES_PER_APP, 3),
        "worker_cpu_ms": round(cpu.get("worker", 0.0) * 1000 / objects, 2),
        "kubesim_cpu_ms": round(cpu.get("kubesim", 0.0) * 1000 / objects, 2),
        "watcher_cpu_ms": round(cpu.get("watch", 0.0) * 1000 / objects, 2),
        "redis_cpu_ms": round(cpu.get("redis", 0.0) * 1000 / objects, 2),
    }


def noop_round(system: BenchSystem, names: list[str], timeout: float) -> dict[str, Any]:
    assert system.store is not None and system.kubesim is not None
    store, n = system.store, len(names)
    before = {name: float((s or {}).get("observedAt", 0)) for name, s in store.statuses(names).items()}
    git_before = system.git_request_counts()
    history_before = history_total(store, names)
    system.kubesim.clear_log()
    stats_before = system.kubesim.stats()
    cpu_before = system.worker_cpu_seconds()
    redis_before = float(store.r.info("stats")["total_commands_processed"])

    scheduled = time.time()
    for name in names:
        store.schedule_poll(name, at=0)

    def polled() -> bool:
        statuses = store.statuses(names)
        return all(float((s or {}).get("observedAt", 0)) > before[name] for name, s in statuses.items())

    system.wait_for(polled, timeout, "every app polled once more", every=0.2)
    system.wait_for(lambda: system.queues_idle(), 120, "the queues to drain after the round")
    time.sleep(FLUSH_INTERVAL_SECONDS + 0.5)  # the workers' last counter flush (at most a second late)
    statuses = store.statuses(names)
    redis_after = float(store.r.info("stats")["total_commands_processed"])
    cpu_after = system.worker_cpu_seconds()
    stats_after = system.kubesim.stats()
    requests = system.kubesim.requests()
    git_after = system.git_request_counts()

    finished = max(float(s["reconciledAt"]) for s in statuses.values() if s)
    durations = [float(s["reconciledAt"]) - float(s["observedAt"]) for s in statuses.values() if s]
    by_verb = {verb: round((stats_after.get(verb, 0) - stats_before.get(verb, 0)) / n, 3)
               for verb in stats_after if verb != "total"}
    list_ms = [float(e["duration_ms"]) for e in requests if e["verb"] == "list"]
    dry_runs = sum(1 for e in requests if e["method"] == "PATCH" and "dryRun" in e["query"])
    render_misses = sum(1 for s in statuses.values() if s and s.get("renderCacheHit") is False)
    not_synced = sum(1 for s in statuses.values() if (s or {}).get("sync", {}).get("status") != "Synced")

    def git_per_poll(request_type: str) -> float | None:
        if git_after is None:
            return None
        return round((git_after.get(request_type, 0) - (git_before or {}).get(request_type, 0)) / n, 4)

    from_watch = sum(1 for s in statuses.values() if (s or {}).get("liveState") == "watch")
    poll_cpu = [float(s["pollCpuMs"]) for s in statuses.values() if s and "pollCpuMs" in s]
    return {
        "noop_round_seconds": round(finished - scheduled, 2),
        "round_fits_poll_interval": finished - scheduled <= DEFAULT_POLL_INTERVAL,
        "noop_polls_from_watch": from_watch,
        "worker_cpu_ms_per_noop_poll": round((cpu_after - cpu_before) * 1000 / n, 2),
        "poll_cpu_ms_p50": round(percentile(poll_cpu, 0.5), 2) if poll_cpu else None,
        "poll_cpu_ms_p95": round(percentile(poll_cpu, 0.95), 2) if poll_cpu else None,
        "noop_polls_per_second": round(n / (finished - scheduled), 1),
        # every process's commands over the round (this benchmark's reads of the statuses too)
        "redis_commands_per_noop_poll": round((redis_after - redis_before) / n, 1),
        "api_requests_per_noop_poll": round((stats_after["total"] - stats_before["total"]) / n, 3),
        "api_requests_by_verb": {verb: v for verb, v in by_verb.items() if v},
        "dry_runs_per_noop_poll": round(dry_runs / n, 3),
        "dry_runs_per_noop_poll_from_status": round(sum(int(s.get("dryRuns", 0)) for s in statuses.values()
                                                        if s) / n, 3),
        "renders_per_noop_poll": round(render_misses / n, 3),
        "git_ls_remote_per_noop_poll": git_per_poll("ls-remote"),
        "git_fetch_per_noop_poll": git_per_poll("fetch"),
        "syncs_started_by_noop_round": history_total(store, names) - history_before,
        "apps_not_synced_after_round": not_synced,
        "poll_p50_seconds": round(percentile(durations, 0.50), 4),
        "poll_p95_seconds": round(percentile(durations, 0.95), 4),
        # kubesim's own time per LIST (it filters label selectors by scanning the kind, as the
        # API server's watch cache does), to tell the server's share of a poll from ours.
        "kubesim_list_p50_ms": round(percentile(list_ms, 0.50), 2) if list_ms else None,
        "load_average_1m_after_round": round(os.getloadavg()[0], 2),
    }


# --- one run -------------------------------------------------------------------------


def run(count: int, args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"poll-scale-{count}-"))
    ttl = float(os.environ.get("RECONCILER_GIT_REF_CACHE_TTL") or DEFAULT_REF_CACHE_TTL)
    env = {"RECONCILER_POLL_INTERVAL": str(POLL_INTERVAL_SECONDS)}
    ok = False
    try:
        with BenchSystem(workdir, workers=args.workers, concurrency=args.concurrency, env=env,
                         watchers=0 if args.no_watch else 1, profile_workers=args.profile,
                         aof=args.aof) as system:
            log(f"{count} apps: system up in {workdir}; creating repos and registering apps")
            cpu_before = system.cpu_seconds_by_role()
            work_before = work_done(system)
            names = create_apps(system, count, args.repos)
            first_sync, first_healthy = wait_first_sync(system, names, args.timeout)
            cpu_after = system.cpu_seconds_by_role()
            first_sync_work = per_app(work_before, work_done(system), count)
            first_sync_cpu = {role: round(seconds, 1) for role, seconds in
                              sorted(spent(cpu_before, cpu_after).items(), key=lambda item: -item[1])}
            log(f"{count} apps: all Synced after {first_sync:.1f}s, Healthy after {first_healthy:.1f}s")
            per_object = first_sync_per_object(first_sync_work, first_sync_cpu, count)
            if args.profile:
                profile = summarise(system.stop_profiling())
                ok = True
                return {"apps": count, "resources_per_app": RESOURCES_PER_APP, "workers": args.workers,
                        "worker_concurrency": args.concurrency, "cpu_cores": os.cpu_count(),
                        "first_sync_seconds": round(first_sync, 1), "first_healthy_seconds": round(first_healthy, 1),
                        "first_sync_cpu_seconds_by_process": first_sync_cpu,
                        "first_sync_per_app": first_sync_work, "first_sync_per_object": per_object,
                        "load_average_1m_after_first_sync": round(os.getloadavg()[0], 2),
                        "first_sync_profile": profile, "profiled_with": "py-spy --gil --rate 50 (Python CPU only)"}
            if not args.no_watch:
                system.wait_for(system.watcher_live, 300, "the watcher to list the cluster")
            system.wait_for(lambda: quiet(system), 600, "the system to go quiet after the first sync")
            time.sleep(ttl + 0.5)  # as after a real poll interval: every cached ref listing has expired
            log(f"{count} apps: no-op round")
            figures = noop_round(system, names, args.timeout)
            result = {
                "apps": count,
                "resources_per_app": RESOURCES_PER_APP,
                "repos": args.repos,
                "workers": args.workers,
                "worker_concurrency": args.concurrency,
                "cpu_cores": os.cpu_count(),
                "first_sync_seconds": round(first_sync, 1),
                "first_healthy_seconds": round(first_healthy, 1),
                "first_sync_cpu_seconds_by_process": first_sync_cpu,
                "first_sync_per_app": first_sync_work,
                "first_sync_per_object": per_object,
                **figures,
                "worker_rss_mb": system.worker_rss_mb(),
                "worker_rss_mb_largest_process": system.worker_rss_mb_largest_process(),
                "watcher_rss_mb": system.watcher_rss_mb() if not args.no_watch else None,
                "redis_used_memory_mb": system.redis_used_memory_mb(),
                "redis_memory": system.redis_memory_figures(),
                "git_ref_cache_ttl_seconds": ttl,
            }
        ok = True
        return result
    finally:
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"logs and data kept in {workdir}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, action="append",
                        help="number of apps (repeatable; default: 100, then 1000)")
    parser.add_argument("--repos", type=int, default=5, help="git repositories the apps are spread over")
    parser.add_argument("--workers", type=int, default=2, help="`reconciler worker` processes")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork children per worker")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds allowed for the first sync")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (logs, repos)")
    parser.add_argument("--no-watch", action="store_true", help="run no watcher: polls LIST the cluster")
    parser.add_argument("--aof", action="store_true", help="Redis with its append-only file on, as deployed")
    parser.add_argument("--profile", action="store_true",
                        help="profile the first sync with py-spy (pip install py-spy) and stop after it")
    args = parser.parse_args()
    if any(n < 1 for n in args.apps or []) or args.repos < 1:
        parser.error("--apps and --repos must be at least 1")
    with sigterm_as_interrupt():
        try:
            for count in args.apps or [100, 1000]:
                print(json.dumps(run(count, args)), flush=True)
        except KeyboardInterrupt:
            log("interrupted; every process it started is stopped")
            return 130
        except (TimeoutError, RuntimeError) as exc:
            log(f"failed: {exc}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
