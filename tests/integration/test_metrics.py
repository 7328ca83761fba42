"""GET /metrics content, read back from a real Redis: app info, sync and reconcile counters,
git and Kubernetes request counts flushed by real clients, webhook results, queue depth
of the real broker lists, and the shipped alert rules naming only metrics that exist."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from reconciler import telemetry
from reconciler.control.catalog import register
from reconciler.core.urls import normalize_repo_url
from reconciler.engine.cluster import Clusters
from reconciler.metrics import CELERY_QUEUES, KOMBU_PRIORITY_SEPARATOR, KOMBU_PRIORITY_STEPS, render
from reconciler.model import Destination, parse_manifests
from reconciler.source.git.client import GitCounters, GitSource
from reconciler.state import Store
from tests.conftest import GitRepo
from tests.integration.conftest import System

ROOT = Path(__file__).resolve().parents[2]
RULES_FILE = ROOT / "helm" / "reconciler" / "files" / "prometheus-rules.yaml"
ALERTS_DOC = ROOT / "docs" / "alerts.md"

APPS_YAML = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: api, namespace: argocd}
spec:
  project: default
  source: {repoURL: "https://github.com/your-org/k8s-config.git", path: apps/api, targetRevision: HEAD}
  destination: {server: "https://kubernetes.default.svc", namespace: production}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: worker, namespace: argocd}
spec:
  source: {repoURL: "https://github.com/your-org/k8s-config.git", path: apps/worker}
  destination: {name: in-cluster, namespace: jobs}
"""


@pytest.fixture
def store(redis_client: redis.Redis) -> Store:
    return Store(redis_client)


def register_apps(store: Store, text: str = APPS_YAML) -> None:
    register(store, parse_manifests(text, "apps.yaml"), first_poll_in=3600)


def scrape(store: Store) -> list[Sample]:
    body, content_type = render(store)
    assert content_type.startswith("text/plain")
    return [s for family in text_string_to_metric_families(body.decode()) for s in family.samples]


def series(samples: list[Sample], metric: str, /, **labels: str) -> list[Sample]:
    return [s for s in samples if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())]


def value(samples: list[Sample], metric: str, /, **labels: str) -> float:
    found = series(samples, metric, **labels)
    assert len(found) == 1, f"expected one {metric}{labels}, found {found}"
    return found[0].value


# -- applications ----------------------------------------------------------------------


def test_app_info_has_one_series_per_registered_app_with_spec_and_status_labels(store: Store) -> None:
    register_apps(store)
    store.write_status("api", {"sync": {"status": "OutOfSync", "revision": "abc"}, "health": {"status": "Degraded"}})
    samples = scrape(store)
    assert [s.labels for s in series(samples, "reconciler_app_info", name="api")] == [
        {
            "name": "api",
            "project": "default",
            "repo": "https://github.com/your-org/k8s-config.git",
            "dest_server": "https://kubernetes.default.svc",
            "dest_namespace": "production",
            "sync_status": "OutOfSync",
            "health_status": "Degraded",
            "autosync_enabled": "true",
        }
    ]
    assert value(samples, "reconciler_app_info", name="api") == 1


def test_app_not_polled_yet_reports_unknown_status_and_destination_name(store: Store) -> None:
    register_apps(store)
    worker = series(scrape(store), "reconciler_app_info", name="worker")[0].labels
    assert (worker["sync_status"], worker["health_status"]) == ("Unknown", "Unknown")
    assert (worker["dest_server"], worker["autosync_enabled"], worker["project"]) == ("in-cluster", "false", "default")


def test_repo_label_never_carries_credentials(store: Store) -> None:
    # Credentials in a repoURL are refused at registration now; an app stored before that rule
    # (written here straight into the registry) still must not leak them into a label.
    register_apps(store)
    for name, manifest in store.app_manifests().items():
        source = manifest["spec"]["source"]
        source["repoURL"] = source["repoURL"].replace("https://github.com", "https://deploy:s3cr3t@github.com")
        store.put_app(name, manifest)
    body, _ = render(store)
    assert b"s3cr3t" not in body
    assert b'repo="https://github.com/your-org/k8s-config.git"' in body


def test_app_conditions_and_retry_count_are_reported(store: Store) -> None:
    register_apps(store)
    store.write_status("api", {"conditions": [{"type": "SyncError", "message": "x"}, {"type": "SyncError"}]})
    store.put_operation_state("api", {"phase": "Running", "retryCount": 2})
    samples = scrape(store)
    assert value(samples, "reconciler_app_condition", name="api", condition="SyncError") == 2
    assert value(samples, "reconciler_app_operation_retry_count", name="api") == 2


# -- counters written by telemetry -------------------------------------------------------


def test_sync_outcomes_are_counted_per_app_and_phase(store: Store) -> None:
    register_apps(store)
    for phase in ("Succeeded", "Succeeded", "Failed"):
        telemetry.record_sync(store, "api", phase)
    samples = scrape(store)
    assert value(samples, "reconciler_app_sync_total", name="api", phase="Succeeded") == 2
    assert value(samples, "reconciler_app_sync_total", name="api", phase="Failed") == 1
    assert series(samples, "reconciler_app_sync_total", name="worker") == []


def test_sync_counts_of_an_unregistered_app_are_not_reported(store: Store) -> None:
    register_apps(store)
    telemetry.record_sync(store, "deleted-app", "Succeeded")
    assert series(scrape(store), "reconciler_app_sync_total", name="deleted-app") == []


def test_reconcile_durations_fill_argo_cd_buckets(store: Store) -> None:
    for seconds in (0.1, 0.3, 3.0, 20.0):
        telemetry.record_reconcile(store, "api", seconds)
    samples = scrape(store)
    buckets = {s.labels["le"]: s.value for s in series(samples, "reconciler_app_reconcile_seconds_bucket")}
    assert buckets == {
        "0.25": 1, "0.5": 2, "1.0": 2, "2.0": 2, "4.0": 3, "8.0": 3, "16.0": 3, "+Inf": 4,
    }
    assert value(samples, "reconciler_app_reconcile_seconds_count") == 4
    assert value(samples, "reconciler_app_reconcile_seconds_sum") == pytest.approx(23.4)


def test_webhook_requests_are_counted_per_provider_and_result(store: Store) -> None:
    telemetry.record_webhook(store, "github", "accepted")
    telemetry.record_webhook(store, "github", "accepted")
    telemetry.record_webhook(store, "gitlab", "refused")
    samples = scrape(store)
    assert value(samples, "reconciler_webhook_requests_total", provider="github", result="accepted") == 2
    assert value(samples, "reconciler_webhook_requests_total", provider="gitlab", result="refused") == 1


def test_git_requests_are_added_once_however_often_they_are_flushed(
    store: Store, git_repo_factory: Callable[..., GitRepo], tmp_path: Path
) -> None:
    repo = git_repo_factory(name="config")
    with GitSource(tmp_path / "cache", ref_cache_ttl=60.0) as git:
        git.resolve(repo.url, "HEAD")
        telemetry.flush_process_counters(store, git.counters, Clusters())
        telemetry.flush_process_counters(store, git.counters, Clusters())
        git.resolve(repo.url, "HEAD", refresh=True)
        telemetry.flush_process_counters(store, git.counters, Clusters())
        expected = git.counters.total("ls-remote", repo.url)
    samples = scrape(store)
    labels = {"repo": normalize_repo_url(repo.url), "request_type": "ls-remote"}
    assert expected.calls == 2
    assert value(samples, "reconciler_git_request_total", **labels) == 2
    assert value(samples, "reconciler_git_request_duration_seconds_count", **labels) == 2
    assert value(samples, "reconciler_git_request_duration_seconds_sum", **labels) == pytest.approx(expected.seconds)
    assert value(samples, "reconciler_git_request_failures_total", **labels) == 0


def test_git_requests_of_separate_processes_add_up(
    store: Store, git_repo_factory: Callable[..., GitRepo], tmp_path: Path
) -> None:
    repo = git_repo_factory(name="config")
    # Two GitSources stand for two worker processes: each has its own counters.
    for cache in ("a", "b"):
        with GitSource(tmp_path / cache, ref_cache_ttl=60.0) as git:
            git.resolve(repo.url, "HEAD")
            telemetry.flush_process_counters(store, git.counters, Clusters())
    samples = scrape(store)
    assert value(samples, "reconciler_git_request_total", request_type="ls-remote") == 2


def test_threads_flushing_at_once_add_each_request_exactly_once(store: Store) -> None:
    # A thread-pool worker: tasks on several threads record requests and flush together.
    git, clusters = GitCounters(), Clusters()

    def task() -> None:
        for _ in range(50):
            git.record("fetch", "https://example.com/org/repo.git", 0.01, ok=True)
            telemetry.flush_process_counters(store, git, clusters)

    threads = [threading.Thread(target=task) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    samples = scrape(store)
    assert value(samples, "reconciler_git_request_total", request_type="fetch") == 400
    assert value(samples, "reconciler_git_request_duration_seconds_sum", request_type="fetch") == pytest.approx(4.0)


def test_kubernetes_requests_are_counted_by_verb_and_code(store: Store, kubeconfig: Path) -> None:
    clusters = Clusters(str(kubeconfig))
    cluster = clusters.for_destination(Destination(server="https://kubernetes.default.svc"))
    git = GitCounters()
    assert cluster.get("v1", "ConfigMap", "default", "absent") is None
    telemetry.flush_process_counters(store, git, clusters)
    assert cluster.get("v1", "ConfigMap", "default", "absent") is None
    telemetry.flush_process_counters(store, git, clusters)
    telemetry.flush_process_counters(store, git, clusters)
    assert cluster.request_counts[("get", "404")] == 2
    assert value(scrape(store), "reconciler_k8s_request_total", verb="get", code="404") == 2


def test_telemetry_never_raises_and_a_failed_flush_is_sent_with_the_next(
    store: Store, git_repo_factory: Callable[..., GitRepo], tmp_path: Path, unused_port: int
) -> None:
    # Without the failover retries of a process's store (about 12 s per command): telemetry's
    # own handling of a Redis that does not answer is what this test is about.
    unreachable = Store(redis.Redis.from_url(f"redis://127.0.0.1:{unused_port}/0", decode_responses=True))
    telemetry.record_sync(unreachable, "api", "Succeeded")
    telemetry.record_reconcile(unreachable, "api", 1.0)
    telemetry.record_webhook(unreachable, "github", "accepted")
    repo = git_repo_factory(name="config")
    with GitSource(tmp_path / "cache", ref_cache_ttl=60.0) as git:
        git.resolve(repo.url, "HEAD")
        telemetry.flush_process_counters(unreachable, git.counters, Clusters())
        telemetry.flush_process_counters(store, git.counters, Clusters())
    assert value(scrape(store), "reconciler_git_request_total", request_type="ls-remote") == 1


# -- queue depth -----------------------------------------------------------------------


def test_queue_names_match_the_celery_app_and_kombu() -> None:
    from kombu.transport.redis import PRIORITY_STEPS, Channel

    from workers.celery_app import QUEUES

    assert CELERY_QUEUES == QUEUES
    assert (list(KOMBU_PRIORITY_STEPS), KOMBU_PRIORITY_SEPARATOR) == (PRIORITY_STEPS, Channel.sep)


def test_queue_length_counts_waiting_tasks_of_every_priority(celery_app: Any, store: Store) -> None:
    # No worker consumes in this test: the messages wait in the broker's lists.
    celery_app.send_task("reconciler.poll", args=("api",), queue="poll")
    celery_app.send_task("reconciler.poll", args=("api",), queue="poll", priority=5)
    celery_app.send_task("reconciler.sync", args=({},), queue="urgent", priority=9)
    samples = scrape(store)
    assert value(samples, "reconciler_queue_length", queue="poll") == 2
    assert value(samples, "reconciler_queue_length", queue="urgent") == 1
    assert value(samples, "reconciler_queue_length", queue="sync") == 0


# -- alert rules -------------------------------------------------------------------------

PROMQL_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
                   "offset", "bool", "inf", "nan"}
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'')
_BRACED = re.compile(r"\{[^}]*\}|\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.])[A-Za-z_:][A-Za-z0-9_:]*(?=\s*(\(?))")


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers left once strings, label matchers,
    ranges and grouping clauses are removed, that are neither functions nor keywords."""
    text = _GROUPING.sub(" ", _BRACED.sub(" ", _STRING.sub(" ", expr)))
    return {
        m.group(0) for m in _IDENTIFIER.finditer(text)
        if not m.group(1) and m.group(0).lower() not in PROMQL_KEYWORDS
    }


def test_promql_tokenizer_finds_metrics_not_functions_labels_or_keywords() -> None:
    expr = 'sum by (name) (increase(a_total{phase=~"x|y"}[10m])) > 0 and on (queue) b unless c offset 5m'
    assert metric_names(expr) == {"a_total", "b", "c"}


def shipped_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES_FILE.read_text())["groups"] for rule in group["rules"]]


def test_every_metric_named_by_an_alert_rule_is_exposed(store: Store) -> None:
    register_apps(store)
    telemetry.record_sync(store, "api", "Failed")
    exposed = {s.name for s in scrape(store)}
    for rule in shipped_rules():
        names = metric_names(rule["expr"])
        assert names, f"{RULES_FILE.name}: rule {rule['alert']} names no metric in {rule['expr']!r}"
        assert names <= exposed, f"{RULES_FILE.name}: rule {rule['alert']} uses unexposed {names - exposed}"


def test_shipped_rules_include_the_seed_alert_and_one_per_failure_kind() -> None:
    rules = {rule["alert"]: rule for rule in shipped_rules()}
    seed = rules["ReconcilerAppOutOfSync"]
    assert (seed["expr"], seed["for"], seed["labels"]["severity"]) == (
        'reconciler_app_info{sync_status!="Synced"} > 0', "5m", "warning"
    )
    assert {"ReconcilerAppDegraded", "ReconcilerAppSyncFailed", "ReconcilerQueueGrowing"} <= set(rules)
    assert all(rule["annotations"]["summary"] and rule["labels"]["severity"] for rule in rules.values())


def test_alerts_doc_carries_the_shipped_rules_file_unchanged() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", ALERTS_DOC.read_text(), flags=re.DOTALL)
    assert blocks == [RULES_FILE.read_text()], f"{ALERTS_DOC} must hold a copy of {RULES_FILE} in one yaml block"


# -- the whole system ------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_real_sync_is_counted_and_its_app_shown_synced(system: System, seed_repo: GitRepo) -> None:
    from reconciler.model import load_file

    register(system.store, load_file(seed_repo.path / "argocd" / "root.yaml"), first_poll_in=0)

    def api_synced() -> bool:
        samples = scrape(system.store)
        info = series(samples, "reconciler_app_info", name="api", sync_status="Synced")
        return bool(info) and bool(series(samples, "reconciler_app_sync_total", name="api", phase="Succeeded"))

    system.wait_for(api_synced, timeout=60, what="api synced and counted in /metrics")

    def requests_counted() -> bool:  # workers flush their request counters at most once a second
        return bool(sum(s.value for s in series(scrape(system.store), "reconciler_k8s_request_total", verb="apply")))

    system.wait_for(requests_counted, timeout=5, what="the workers' next counter flush")
    samples = scrape(system.store)
    assert value(samples, "reconciler_app_sync_total", name="api", phase="Succeeded") >= 1
    assert value(samples, "reconciler_app_reconcile_seconds_count") >= 1
    assert sum(s.value for s in series(samples, "reconciler_k8s_request_total", verb="apply")) >= 1
    assert sum(s.value for s in series(samples, "reconciler_git_request_total", request_type="ls-remote")) >= 1


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_worker_flushes_at_most_once_a_second_and_what_waits_goes_with_the_next_second(store: Store) -> None:
    # Workers flush through flush_soon after every task: the first flush writes at once, those
    # within the following second leave their counts (and buffered poll times) to one timed flush.
    git, clusters = GitCounters(), Clusters()
    time.sleep(telemetry.FLUSH_INTERVAL_SECONDS + 0.2)  # an earlier test's flush window (same process) is over
    telemetry.flush_process_counters(store, git, clusters)  # what earlier tests of this process buffered
    reconciles_before = sum(s.value for s in series(scrape(store), "reconciler_app_reconcile_seconds_count"))
    git.record("fetch", "https://example.com/org/soon.git", 0.01, ok=True)
    telemetry.flush_soon(store, git, clusters)
    commands_before = int(store.r.info("stats")["total_commands_processed"])
    for _ in range(20):  # twenty tasks ending within the second
        git.record("fetch", "https://example.com/org/soon.git", 0.01, ok=True)
        telemetry.buffer_reconcile(0.1)
        telemetry.flush_soon(store, git, clusters)
    assert int(store.r.info("stats")["total_commands_processed"]) == commands_before + 1  # the INFO itself
    deadline = time.monotonic() + 10
    # The first flush may itself wait for the window of a flush an earlier test of this process
    # made: until the timer's flush, the series may not exist yet.
    while time.monotonic() < deadline and sum(
        s.value for s in series(scrape(store), "reconciler_git_request_total", request_type="fetch")
    ) != 21:
        time.sleep(0.05)
    samples = scrape(store)
    assert value(samples, "reconciler_git_request_total", request_type="fetch") == 21
    assert value(samples, "reconciler_app_reconcile_seconds_count") == reconciles_before + 20
