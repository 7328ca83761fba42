"""The Helm chart helm/reconciler: rendered with helm-python-sdk (through the reconciler's own
render path, as the self-managed Application renders it) for several value sets, every
object server-side dry-run applied into kubesim, and the security settings, RBAC,
disruption budgets, autoscaler and NetworkPolicies asserted."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.engine.cluster import Cluster
from reconciler.model import Application, load_file, parse_manifests
from reconciler.source.render import RenderError, render

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "reconciler"
RULES_FILE = CHART / "files" / "prometheus-rules.yaml"
SELF_MANAGED_APP = ROOT / "examples" / "self-managed" / "reconciler-app.yaml"
NAMESPACE = "reconciler"
TEAM_NAMESPACES = ("team-a", "team-b")
RELEASE = "rc"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}

NOTIFICATIONS_CM = {
    "context": "argocdUrl: https://gitops.example.com\n",
    "service.slack": "token: $slack-token\n",
    "template.app-sync-failed": "message: Sync of {{.app.metadata.name}} failed\n",
    "trigger.on-sync-failed": "- when: app.status.operationState.phase in ['Error', 'Failed']\n"
                              "  send: [app-sync-failed]\n",
}

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "external-redis-url": {"redis": {"bundled": {"enabled": False}, "url": "redis://redis.example.internal:6379/0"}},
    "external-redis-secret": {
        "redis": {"bundled": {"enabled": False}, "existingSecret": "redis-conn", "existingSecretKey": "url"}
    },
    "bundled-redis-password": {"redis": {"bundled": {"auth": {"existingSecret": "redis-auth"}, "maxmemory": "1gb"}}},
    "namespace-rbac": {"rbac": {"scope": "namespace", "namespaces": list(TEAM_NAMESPACES)}},
    "ingress-tls": {
        "api": {
            "ingress": {
                "enabled": True,
                "className": "nginx",
                "hosts": [{"host": "reconciler.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}],
                "tls": [{"secretName": "reconciler-tls", "hosts": ["reconciler.example.com"]}],
            }
        }
    },
    "flower-with-auth": {"flower": {"enabled": True, "basicAuth": {"value": "admin:flower-pass"}}},
    "flower-existing-secret": {"flower": {"enabled": True, "basicAuth": {"existingSecret": "flower-auth"}}},
    "hpa-off": {"worker": {"autoscaling": {"enabled": False}, "replicas": 3}},
    "monitoring": {
        "serviceMonitor": {"enabled": True, "bearerTokenSecret": {"name": "scrape", "key": "token"}},
        "prometheusRule": {"enabled": True},
        "api": {"metricsAuth": True},
    },
    "secrets": {
        "secrets": {"webhook": {"github": "gh-hook-secret", "gitlab": "gl-hook-secret"}, "apiTokens": "admin:tok-1"}
    },
    "existing-secrets": {"secrets": {"existingSecret": "my-secrets"}},
    "preview": {
        "preview": {"enabled": True, "github": {"token": "gh-preview-token"},
                    "gitlab": {"token": "gl-preview-token", "apiUrl": "https://gitlab.example.com/api/v4"}},
        "access": {"url": "https://gitops.example.com"},
    },
    "resource-customizations": {
        "resourceCustomizations": {
            "data": {
                "resource.customizations.health.cert-manager.io_Certificate": 'return {status = "Healthy"}\n',
                "resource.customizations.ignoreDifferences.apps_Deployment": "jsonPointers:\n- /spec/replicas\n",
            },
            "dir": "/opt/health-checks",
            "extraVolumes": [{"name": "health-checks", "emptyDir": {}}],
            "extraVolumeMounts": [{"name": "health-checks", "mountPath": "/opt/health-checks", "readOnly": True}],
        }
    },
    "resource-customizations-existing": {"resourceCustomizations": {"existingConfigMap": "argocd-cm"}},
    "redis-ha": {"redis": {"ha": {"enabled": True}, "bundled": {"maxmemory": "1gb"}}},
    "redis-ha-tls": {
        "redis": {"ha": {"enabled": True}, "bundled": {"tls": {"enabled": True, "secretName": "redis-tls"}}}
    },
    "access": {
        "access": {
            "rbacPolicy": {"policy.csv": "p, role:team-a, applications, *, team-a/*, allow\ng, team-a, role:team-a\n",
                           "policy.default": "role:readonly"},
            "url": "https://gitops.example.com",
            "oidc": {"issuer": "https://login.example.com/realms/main", "clientID": "reconciler"},
            "sessionDuration": "12h",
        },
        "secrets": {"oidcClientSecret": "oidc-client-secret-value"},
    },
    "access-existing": {
        "access": {"existingRbacConfigMap": "argocd-rbac-cm",
                   "tokenSigningKey": {"existingSecret": "signing", "existingSecretKey": "key"}},
    },
    "notifications": {
        "access": {"url": "https://gitops.example.com"},
        "notifications": {"config": NOTIFICATIONS_CM, "secrets": {"slack-token": "xoxb-chart-test-token"},
                          "maxAttempts": 5},
    },
    "notifications-existing": {
        "notifications": {"existingConfigMap": "argocd-notifications-cm",
                          "existingSecret": "argocd-notifications-secret"},
    },
    "applicationset": {
        "applicationSet": {"maxDeletePercent": 25, "tokens": {"github": "ghp-chart-test-token"}},
    },
    "applicationset-existing": {"applicationSet": {"existingSecret": "scm-tokens"}},
    "redis-tls": {"redis": {"bundled": {"tls": {"enabled": True, "secretName": "redis-tls"}}}},
}

MINIMAL_CRDS = (
    ("monitoring.coreos.com", "servicemonitors", "ServiceMonitor"),
    ("monitoring.coreos.com", "prometheusrules", "PrometheusRule"),
)


def application(values: dict[str, Any]) -> Application:
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": RELEASE, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://github.com/your-org/gitops-reconciler",
                "targetRevision": "HEAD",
                "path": "helm/reconciler",
                "helm": {"valuesObject": values},
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": NAMESPACE},
        },
    }
    [app] = parse_manifests(yaml.safe_dump(manifest), "test-values.yaml")
    assert isinstance(app, Application)
    return app


def render_values(values: dict[str, Any]) -> list[dict[str, Any]]:
    return render(application(values), ROOT)


@cache
def _rendered(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(render_values(VALUE_SETS[name]))


def rendered(name: str) -> list[dict[str, Any]]:
    return copy.deepcopy(list(_rendered(name)))


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in objects:
        if obj["kind"] in WORKLOAD_KINDS:
            yield f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env") or []}


def container(objects: list[dict[str, Any]], deployment: str) -> dict[str, Any]:
    spec = one(objects, "Deployment", deployment)["spec"]["template"]["spec"]
    first: dict[str, Any] = spec["containers"][0]
    return first


# --- kubesim: one server for the module; dry-run applies store nothing ---------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    from kubesim import KubeSim

    with KubeSim() as sim:
        cluster = Cluster.for_host(sim.url)
        for namespace in (NAMESPACE, *TEAM_NAMESPACES):
            cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        for group, plural, kind in MINIMAL_CRDS:
            cluster.apply(minimal_crd(group, plural, kind))
        yield cluster


def minimal_crd(group: str, plural: str, kind: str) -> dict[str, Any]:
    """Just enough of the Prometheus Operator's CRD for the API server to serve the kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


# --- helm lint -----------------------------------------------------------------------------


def test_helm_lint_is_clean_in_strict_mode() -> None:
    import helm_python

    report = helm_python.lint(CHART, strict=True, namespace=NAMESPACE)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], problems


@pytest.mark.parametrize("name", ["flower-with-auth", "namespace-rbac", "monitoring", "access", "notifications",
                                  "applicationset", "redis-tls", "redis-ha-tls"])
def test_helm_lint_is_clean_with_optional_parts_on(name: str) -> None:
    import helm_python

    report = helm_python.lint(CHART, VALUE_SETS[name], strict=True, namespace=NAMESPACE)
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] >= 2] == []


# --- every value set: dry-run apply and security ------------------------------------------


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_every_rendered_object_is_accepted_by_a_server_side_dry_run_apply(name: str, cluster: Cluster) -> None:
    objects = rendered(name)
    assert objects, f"value set {name} rendered nothing"
    for obj in objects:
        answer = cluster.apply(obj, dry_run=True)
        assert answer["metadata"]["name"] == obj["metadata"]["name"]


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_every_pod_runs_non_root_with_a_read_only_root_and_no_privileges(name: str) -> None:
    specs = list(pod_specs(rendered(name)))
    assert specs
    for where, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, where
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, where
        writable = {v["name"] for v in spec.get("volumes") or [] if "emptyDir" in v}
        for box in [*spec.get("initContainers", []), *spec["containers"]]:
            context = box["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["runAsNonRoot"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in context["capabilities"], where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
            tmp = [m for m in box["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in writable, f"{where}: /tmp must be a writable emptyDir"


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_only_worker_and_watch_pods_mount_a_service_account_token(name: str) -> None:
    for where, spec in pod_specs(rendered(name)):
        expected = where in {f"Deployment/{RELEASE}-reconciler-{c}" for c in ("worker", "watch")}
        assert spec.get("automountServiceAccountToken") is expected, where


def test_the_api_has_workers_do_its_cluster_work() -> None:
    env = env_of(container(rendered("defaults"), f"{RELEASE}-reconciler-api"))
    assert env["RECONCILER_API_CLUSTER_ACCESS"]["value"] == "workers"


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_no_secret_value_appears_in_a_pod_spec(name: str) -> None:
    values = VALUE_SETS[name]
    secrets = [
        *(values.get("secrets", {}).get("webhook", {}) or {}).values(),
        values.get("secrets", {}).get("apiTokens"),
        values.get("secrets", {}).get("oidcClientSecret"),
        values.get("flower", {}).get("basicAuth", {}).get("value"),
        *(values.get("notifications", {}).get("secrets", {}) or {}).values(),
        *(values.get("applicationSet", {}).get("tokens", {}) or {}).values(),
        *((values.get("preview", {}).get(host) or {}).get("token") for host in ("github", "gitlab", "gitea")),
    ]
    workloads = yaml.safe_dump([o for o in rendered(name) if o["kind"] in WORKLOAD_KINDS])
    for secret in filter(None, secrets):
        assert secret not in workloads


def test_every_data_volume_is_an_empty_dir_under_the_data_dir() -> None:
    objects = rendered("defaults")
    for deployment in ("worker", "beat", "api"):
        box = container(objects, f"{RELEASE}-reconciler-{deployment}")
        mounts = {m["mountPath"]: m["name"] for m in box["volumeMounts"]}
        assert env_of(box)["RECONCILER_DATA_DIR"]["value"] in mounts, deployment


# --- workers ------------------------------------------------------------------------------


def test_worker_shutdown_grace_outlasts_the_task_time_limit() -> None:
    objects = rendered("defaults")
    worker = one(objects, "Deployment", f"{RELEASE}-reconciler-worker")["spec"]["template"]["spec"]
    time_limit = float(env_of(worker["containers"][0])["RECONCILER_TASK_TIME_LIMIT"]["value"])
    assert worker["terminationGracePeriodSeconds"] > time_limit


def test_worker_autoscaler_targets_the_worker_deployment_which_leaves_replicas_to_it() -> None:
    objects = rendered("defaults")
    deployment = one(objects, "Deployment", f"{RELEASE}-reconciler-worker")
    hpa = one(objects, "HorizontalPodAutoscaler", f"{RELEASE}-reconciler-worker")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"]}
    assert hpa["spec"]["scaleTargetRef"] == target
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    assert "replicas" not in deployment["spec"]


def test_without_autoscaling_the_worker_deployment_sets_its_replicas() -> None:
    objects = rendered("hpa-off")
    assert find(objects, "HorizontalPodAutoscaler") == []
    assert one(objects, "Deployment", f"{RELEASE}-reconciler-worker")["spec"]["replicas"] == 3


def test_disruption_budgets_select_the_worker_and_api_pods() -> None:
    objects = rendered("defaults")
    for component in ("worker", "api"):
        pdb = one(objects, "PodDisruptionBudget", f"{RELEASE}-reconciler-{component}")
        deployment = one(objects, "Deployment", f"{RELEASE}-reconciler-{component}")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert pdb["apiVersion"] == "policy/v1"
        assert pdb["spec"]["minAvailable"] >= 1
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(), component


def test_watchers_run_with_a_standby_and_the_service_account_token() -> None:
    objects = rendered("defaults")
    watch = one(objects, "Deployment", f"{RELEASE}-reconciler-watch")
    assert watch["spec"]["replicas"] == 2  # one holds each cluster's lease, the other takes over
    assert watch["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    box = container(objects, f"{RELEASE}-reconciler-watch")
    assert box["command"] == ["reconciler", "watch"]
    assert env_of(box)["RECONCILER_WATCH_LEASE_TTL"]["value"] == "15"


def test_beat_runs_one_pod_recreated_never_rolled() -> None:
    beat = one(rendered("defaults"), "Deployment", f"{RELEASE}-reconciler-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


# --- redis --------------------------------------------------------------------------------


def test_bundled_redis_is_one_statefulset_with_aof_noeviction_and_a_volume_claim() -> None:
    objects = rendered("defaults")
    redis = one(objects, "StatefulSet", f"{RELEASE}-reconciler-redis")
    command = redis["spec"]["template"]["spec"]["containers"][0]["command"]
    assert redis["spec"]["replicas"] == 1
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    [claim] = redis["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    worker_env = env_of(container(objects, f"{RELEASE}-reconciler-worker"))
    assert worker_env["REDIS_URL"]["value"] == f"redis://:$(REDIS_PASSWORD)@{RELEASE}-reconciler-redis:6379/0"
    # A password always: with none given, the chart generates one into its own Secret.
    assert command[command.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    ref = worker_env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref["key"] in one(objects, "Secret", ref["name"])["data"]


def test_external_redis_url_replaces_the_bundled_redis() -> None:
    objects = rendered("external-redis-url")
    assert find(objects, "StatefulSet") == []
    assert find(objects, "NetworkPolicy", f"{RELEASE}-reconciler-redis") == []
    for deployment in ("worker", "beat", "watch", "api"):
        url = env_of(container(objects, f"{RELEASE}-reconciler-{deployment}"))["REDIS_URL"]["value"]
        assert url == "redis://redis.example.internal:6379/0"


def test_external_redis_url_may_come_from_a_secret() -> None:
    env = env_of(container(rendered("external-redis-secret"), f"{RELEASE}-reconciler-worker"))
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "redis-conn", "key": "url"}


def test_bundled_redis_password_is_composed_by_kubernetes_not_written_in_the_manifest() -> None:
    objects = rendered("bundled-redis-password")
    names = [e["name"] for e in container(objects, f"{RELEASE}-reconciler-api")["env"]]
    # Dependent variables: REDIS_PASSWORD must come before the REDIS_URL that uses it.
    assert names.index("REDIS_PASSWORD") < names.index("REDIS_URL")
    env = env_of(container(objects, f"{RELEASE}-reconciler-api"))
    assert env["REDIS_URL"]["value"] == f"redis://:$(REDIS_PASSWORD)@{RELEASE}-reconciler-redis:6379/0"
    redis = one(objects, "StatefulSet", f"{RELEASE}-reconciler-redis")
    command = redis["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"


def test_bundled_and_external_redis_together_are_refused() -> None:
    with pytest.raises(RenderError, match=r"redis\.bundled\.enabled=false"):
        render_values({"redis": {"url": "redis://elsewhere:6379/0"}})


def test_no_redis_at_all_is_refused() -> None:
    with pytest.raises(RenderError, match=r"no Redis configured"):
        render_values({"redis": {"bundled": {"enabled": False}}})


# --- RBAC ---------------------------------------------------------------------------------


def test_cluster_rbac_binds_the_service_account_to_a_cluster_role() -> None:
    objects = rendered("defaults")
    account = one(objects, "ServiceAccount", f"{RELEASE}-reconciler")
    role = one(objects, "ClusterRole", f"{RELEASE}-reconciler")
    binding = one(objects, "ClusterRoleBinding", f"{RELEASE}-reconciler")
    # Read everything, write only the listed kinds; no wildcard verbs, no wildcard URLs.
    assert {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]} in role["rules"]
    for rule in role["rules"]:
        assert "*" not in rule["verbs"], rule
        assert "*" not in rule.get("nonResourceURLs", []), rule
        if "*" in rule.get("resources", []):
            assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]}
    subject = {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": NAMESPACE}
    assert binding["roleRef"] == role_ref
    assert binding["subjects"] == [subject]
    # Namespaced grants: only the sync fence's Leases (engine/cluster/fence.py).
    assert [r["metadata"]["name"] for r in find(objects, "Role")] == [f"{RELEASE}-reconciler-sync-fence"]
    [fence] = find(objects, "Role")
    assert fence["metadata"]["namespace"] == NAMESPACE  # the release's own, unless syncFence.namespace
    env = env_of(container(objects, f"{RELEASE}-reconciler-worker"))
    assert env["RECONCILER_SYNC_FENCE_NAMESPACE"]["value"] == NAMESPACE
    assert fence["rules"] == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                               "verbs": ["get", "create", "update", "patch"]}]
    assert [b["roleRef"]["name"] for b in find(objects, "RoleBinding")] == [f"{RELEASE}-reconciler-sync-fence"]


def test_namespace_rbac_grants_a_role_in_each_listed_namespace_and_nothing_cluster_wide() -> None:
    objects = rendered("namespace-rbac")
    assert find(objects, "ClusterRole") == [] and find(objects, "ClusterRoleBinding") == []
    fence = f"{RELEASE}-reconciler-sync-fence"  # the sync fence's Leases, in their own namespace
    roles = {r["metadata"]["namespace"]: r for r in find(objects, "Role") if r["metadata"]["name"] != fence}
    bindings = {b["metadata"]["namespace"]: b for b in find(objects, "RoleBinding") if b["metadata"]["name"] != fence}
    assert set(roles) == set(bindings) == set(TEAM_NAMESPACES)
    for namespace in TEAM_NAMESPACES:
        assert bindings[namespace]["roleRef"]["kind"] == "Role"
        assert bindings[namespace]["roleRef"]["name"] == roles[namespace]["metadata"]["name"]
        assert bindings[namespace]["subjects"][0]["namespace"] == NAMESPACE
        assert all("nonResourceURLs" not in rule for rule in roles[namespace]["rules"])


def test_namespace_rbac_without_namespaces_is_refused() -> None:
    with pytest.raises(RenderError, match=r"rbac\.namespaces"):
        render_values({"rbac": {"scope": "namespace"}})


def test_an_unknown_rbac_scope_is_refused() -> None:
    with pytest.raises(RenderError, match=r"rbac\.scope=\"everywhere\""):
        render_values({"rbac": {"scope": "everywhere"}})


# --- network policies ---------------------------------------------------------------------


def test_only_the_release_pods_may_reach_redis() -> None:
    policy = one(rendered("defaults"), "NetworkPolicy", f"{RELEASE}-reconciler-redis")
    [rule] = policy["spec"]["ingress"]
    [peer] = rule["from"]
    assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == RELEASE
    [expression] = peer["podSelector"]["matchExpressions"]
    assert sorted(expression["values"]) == ["api", "beat", "flower", "watch", "worker"]
    assert "namespaceSelector" not in peer


def test_workers_beat_and_watchers_accept_no_ingress() -> None:
    policy = one(rendered("defaults"), "NetworkPolicy", f"{RELEASE}-reconciler-no-ingress")
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert not policy["spec"].get("ingress")
    [expression] = policy["spec"]["podSelector"]["matchExpressions"]
    assert sorted(expression["values"]) == ["beat", "watch", "worker"]


def test_the_api_accepts_traffic_on_its_port_only() -> None:
    policy = one(rendered("defaults"), "NetworkPolicy", f"{RELEASE}-reconciler-api")
    [rule] = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]


def test_network_policies_can_be_turned_off() -> None:
    assert find(render_values({"networkPolicy": {"enabled": False}}), "NetworkPolicy") == []


# --- api, ingress, secrets ----------------------------------------------------------------


def test_api_probes_health_and_readiness_endpoints() -> None:
    api = container(rendered("defaults"), f"{RELEASE}-reconciler-api")
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["command"] == ["reconciler", "api", "--port", "8080"]


def test_ingress_routes_to_the_api_service_with_tls() -> None:
    objects = rendered("ingress-tls")
    ingress = one(objects, "Ingress", f"{RELEASE}-reconciler-api")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"secretName": "reconciler-tls", "hosts": ["reconciler.example.com"]}]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = one(objects, "Service", backend["name"])
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_webhook_secrets_and_api_tokens_reach_only_the_api_through_a_secret() -> None:
    objects = rendered("secrets")
    secret = one(objects, "Secret", f"{RELEASE}-reconciler-secrets")
    assert set(secret["data"]) == {
        "RECONCILER_WEBHOOK_GITHUB_SECRET",
        "RECONCILER_WEBHOOK_GITLAB_SECRET",
        "RECONCILER_API_TOKENS",
    }
    api = container(objects, f"{RELEASE}-reconciler-api")
    assert api["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    for deployment in ("worker", "beat", "watch"):
        assert "envFrom" not in container(objects, f"{RELEASE}-reconciler-{deployment}")


def test_an_existing_secret_replaces_the_chart_secret() -> None:
    objects = rendered("existing-secrets")
    # Only the generated Redis password / encryption key Secret remains (none was named for them).
    assert [s["metadata"]["name"] for s in find(objects, "Secret")] == [f"{RELEASE}-reconciler-generated"]
    assert container(objects, f"{RELEASE}-reconciler-api")["envFrom"] == [{"secretRef": {"name": "my-secrets"}}]


def test_the_rbac_policy_is_mounted_into_the_api_with_single_sign_on_and_a_shared_signing_key() -> None:
    objects = rendered("access")
    api_pod = one(objects, "Deployment", f"{RELEASE}-reconciler-api")["spec"]["template"]["spec"]
    env = env_of(api_pod["containers"][0])
    policy = one(objects, "ConfigMap", f"{RELEASE}-reconciler-rbac")
    assert policy["data"]["policy.default"] == "role:readonly"
    mount = next(m for m in api_pod["containers"][0]["volumeMounts"] if m["name"] == "rbac-policy")
    assert mount["mountPath"] == env["RECONCILER_RBAC_FILE"]["value"] == "/etc/reconciler/rbac"
    volume = next(v for v in api_pod["volumes"] if v["name"] == "rbac-policy")
    assert volume["configMap"]["name"] == policy["metadata"]["name"]
    assert (env["RECONCILER_URL"]["value"], env["RECONCILER_OIDC_ISSUER"]["value"]) == (
        "https://gitops.example.com", "https://login.example.com/realms/main")
    assert env["RECONCILER_SESSION_DURATION"]["value"] == "12h"
    # Every api replica signs and checks project tokens with the same generated key.
    assert env["RECONCILER_TOKEN_SIGNING_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{RELEASE}-reconciler-generated", "key": "token-signing-key"}
    assert "token-signing-key" in one(objects, "Secret", f"{RELEASE}-reconciler-generated")["data"]
    assert "RECONCILER_OIDC_CLIENT_SECRET" in one(objects, "Secret", f"{RELEASE}-reconciler-secrets")["data"]
    for deployment in ("worker", "beat", "watch"):
        assert "RECONCILER_RBAC_FILE" not in env_of(container(objects, f"{RELEASE}-reconciler-{deployment}"))


def test_an_existing_rbac_configmap_and_signing_key_are_used_as_named() -> None:
    objects = rendered("access-existing")
    api_pod = one(objects, "Deployment", f"{RELEASE}-reconciler-api")["spec"]["template"]["spec"]
    assert find(objects, "ConfigMap", f"{RELEASE}-reconciler-rbac") == []
    assert next(v for v in api_pod["volumes"] if v["name"] == "rbac-policy")["configMap"]["name"] == "argocd-rbac-cm"
    assert env_of(api_pod["containers"][0])["RECONCILER_TOKEN_SIGNING_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "signing", "key": "key"}


# --- flower -------------------------------------------------------------------------------


def test_flower_is_off_by_default() -> None:
    assert find(rendered("defaults"), "Deployment", f"{RELEASE}-reconciler-flower") == []


def test_flower_without_basic_auth_refuses_to_render() -> None:
    with pytest.raises(RenderError, match=r"flower\.basicAuth\.existingSecret"):
        render_values({"flower": {"enabled": True}})


def test_flower_takes_its_basic_auth_from_a_secret_and_sees_only_the_broker() -> None:
    objects = rendered("flower-with-auth")
    flower = container(objects, f"{RELEASE}-reconciler-flower")
    ref = env_of(flower)["FLOWER_BASIC_AUTH"]["valueFrom"]["secretKeyRef"]
    secret = one(objects, "Secret", ref["name"])
    assert ref["key"] in secret["data"]
    assert set(env_of(flower)) == {"REDIS_PASSWORD", "REDIS_URL", "FLOWER_BASIC_AUTH"}
    assert "envFrom" not in flower
    policy = one(objects, "NetworkPolicy", f"{RELEASE}-reconciler-flower")
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]


def test_flower_with_an_existing_secret_creates_none() -> None:
    objects = rendered("flower-existing-secret")
    ref = env_of(container(objects, f"{RELEASE}-reconciler-flower"))["FLOWER_BASIC_AUTH"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "flower-auth", "key": "basic-auth"}
    assert find(objects, "Secret", "flower-auth") == []


# --- monitoring ---------------------------------------------------------------------------


def test_service_monitor_scrapes_the_api_metrics_port() -> None:
    objects = rendered("monitoring")
    monitor = one(objects, "ServiceMonitor", f"{RELEASE}-reconciler")
    service = one(objects, "Service", f"{RELEASE}-reconciler-api")
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert endpoint["authorization"]["credentials"] == {"name": "scrape", "key": "token"}


def test_prometheus_rule_carries_the_shipped_alert_file_unchanged() -> None:
    rule = one(rendered("monitoring"), "PrometheusRule", f"{RELEASE}-reconciler")
    assert rule["spec"] == yaml.safe_load(RULES_FILE.read_text())
    assert rule["spec"]["groups"], "the alert file has no rule groups"


def test_monitoring_objects_are_optional() -> None:
    objects = rendered("defaults")
    assert find(objects, "ServiceMonitor") == [] and find(objects, "PrometheusRule") == []


# --- the chart manages itself -------------------------------------------------------------


def test_self_managed_application_parses_and_renders_the_chart_from_this_tree(cluster: Cluster) -> None:
    [app] = load_file(SELF_MANAGED_APP)
    assert isinstance(app, Application)
    assert app.source.path == "helm/reconciler"
    objects = render(app, ROOT)
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "StatefulSet", "ServiceMonitor", "PrometheusRule", "Ingress"} <= kinds
    assert all(o["metadata"].get("namespace") in (None, app.destination.namespace) for o in objects)
    for obj in objects:
        cluster.apply(obj, dry_run=True)


def test_a_single_worker_gets_no_disruption_budget_that_would_block_node_drains() -> None:
    objects = render_values({"worker": {"autoscaling": {"enabled": False}, "replicas": 1}})
    assert find(objects, "PodDisruptionBudget", f"{RELEASE}-reconciler-worker") == []


# --- resource customizations ---------------------------------------------------------------


def test_resource_customizations_are_mounted_where_health_is_assessed() -> None:
    objects = rendered("resource-customizations")
    configmap = one(objects, "ConfigMap", f"{RELEASE}-reconciler-resource-customizations")
    ignore_key = "resource.customizations.ignoreDifferences.apps_Deployment"
    assert configmap["data"][ignore_key] == "jsonPointers:\n- /spec/replicas\n"
    # The watcher too: polls trust the health it stores for objects that did not change.
    for component in ("worker", "api", "watch"):
        spec = one(objects, "Deployment", f"{RELEASE}-reconciler-{component}")["spec"]["template"]["spec"]
        env = env_of(spec["containers"][0])
        assert env["RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE"]["value"] == "/etc/reconciler/resource-customizations"
        assert env["RECONCILER_RESOURCE_CUSTOMIZATIONS_DIR"]["value"] == "/opt/health-checks"
        mounts = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}
        assert mounts["resource-customizations"]["mountPath"] == "/etc/reconciler/resource-customizations"
        assert mounts["health-checks"]["mountPath"] == "/opt/health-checks"
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["resource-customizations"]["configMap"]["name"] == configmap["metadata"]["name"]


def test_an_existing_configmap_is_mounted_as_it_is() -> None:
    objects = rendered("resource-customizations-existing")
    assert not [o for o in find(objects, "ConfigMap") if "resource-customizations" in o["metadata"]["name"]]
    spec = one(objects, "Deployment", f"{RELEASE}-reconciler-worker")["spec"]["template"]["spec"]
    assert {v["name"]: v for v in spec["volumes"]}["resource-customizations"]["configMap"]["name"] == "argocd-cm"


def test_without_customizations_nothing_is_mounted() -> None:
    spec = one(rendered("defaults"), "Deployment", f"{RELEASE}-reconciler-worker")["spec"]["template"]["spec"]
    assert "RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE" not in env_of(spec["containers"][0])
    assert "resource-customizations" not in {v["name"] for v in spec["volumes"]}


# --- Redis with Sentinel (redis.ha.enabled) --------------------------------------------------


def test_redis_ha_runs_three_redis_pods_with_a_sentinel_each_spread_over_nodes() -> None:
    objects = rendered("redis-ha")
    statefulset = one(objects, "StatefulSet", f"{RELEASE}-reconciler-redis")
    spec = statefulset["spec"]["template"]["spec"]
    assert statefulset["spec"]["replicas"] == 3
    assert [c["name"] for c in spec["containers"]] == ["redis", "sentinel"]
    required = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert required[0]["topologyKey"] == "kubernetes.io/hostname"
    assert required[0]["labelSelector"]["matchLabels"] == statefulset["spec"]["selector"]["matchLabels"]
    budget = one(objects, "PodDisruptionBudget", f"{RELEASE}-reconciler-redis")
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"] == statefulset["spec"]["selector"]["matchLabels"]


def test_redis_ha_sentinels_have_short_timings_a_password_and_the_servers_noeviction_and_aof() -> None:
    scripts = one(rendered("redis-ha"), "ConfigMap", f"{RELEASE}-reconciler-redis-scripts")["data"]
    assert "sentinel down-after-milliseconds mymaster 5000" in scripts["sentinel.sh"]
    assert "sentinel failover-timeout mymaster 10000" in scripts["sentinel.sh"]
    assert "requirepass $SENTINEL_PASSWORD" in scripts["sentinel.sh"]
    options = ("--appendonly yes", "--maxmemory-policy noeviction", "--maxmemory 1gb", '--masterauth "$REDIS_PASSWORD"')
    for option in options:
        assert option in scripts["redis.sh"]


def test_redis_ha_points_every_component_at_the_sentinels_with_passwords_from_secrets() -> None:
    objects = rendered("redis-ha")
    for deployment in ("worker", "beat", "api", "watch"):
        env = env_of(container(objects, f"{RELEASE}-reconciler-{deployment}"))
        assert "REDIS_URL" not in env
        sentinels = env["RECONCILER_REDIS_SENTINELS"]["value"].split(",")
        assert len(sentinels) == 3 and all(s.endswith(":26379") for s in sentinels)
        assert env["RECONCILER_REDIS_MASTER"]["value"] == "mymaster"
        assert "secretKeyRef" in env["RECONCILER_REDIS_PASSWORD"]["valueFrom"]
        assert "secretKeyRef" in env["RECONCILER_REDIS_SENTINEL_PASSWORD"]["valueFrom"]
    generated = one(objects, "Secret", f"{RELEASE}-reconciler-generated")
    assert {"redis-password", "sentinel-password"} <= set(generated["data"])
    assert [s["metadata"]["name"] for s in find(objects, "StatefulSet")] == [f"{RELEASE}-reconciler-redis"]


def test_redis_ha_with_tls_serves_redis_and_sentinel_over_tls_only() -> None:
    objects = rendered("redis-ha-tls")
    scripts = one(objects, "ConfigMap", f"{RELEASE}-reconciler-redis-scripts")["data"]
    assert "--port 0 --tls-port 6379 --tls-replication yes" in scripts["redis.sh"]
    assert "tls-port 26379" in scripts["sentinel.sh"] and "port 0" in scripts["sentinel.sh"]
    env = env_of(container(objects, f"{RELEASE}-reconciler-worker"))
    assert env["RECONCILER_REDIS_TLS"]["value"] == env["RECONCILER_REDIS_SENTINEL_TLS"]["value"] == "true"


# --- notifications, ApplicationSets, Redis TLS for clients -------------------------------------


def mounted(spec: dict[str, Any], path: str) -> dict[str, Any]:
    """The volume mounted at `path` in the pod's first container."""
    [mount] = [m for m in spec["containers"][0]["volumeMounts"] if m["mountPath"] == path]
    return next(v for v in spec["volumes"] if v["name"] == mount["name"])


def test_notifications_config_and_secret_are_mounted_into_the_workers_where_they_are_used(tmp_path: Path) -> None:
    from reconciler.control.notifications.config import load_config
    from reconciler.control.notifications.secrets import load_secrets

    objects = rendered("notifications")
    worker = one(objects, "Deployment", f"{RELEASE}-reconciler-worker")["spec"]["template"]["spec"]
    env = env_of(worker["containers"][0])
    configmap = one(objects, "ConfigMap", f"{RELEASE}-reconciler-notifications")
    secret = one(objects, "Secret", f"{RELEASE}-reconciler-notifications")
    assert mounted(worker, env["RECONCILER_NOTIFICATIONS_FILE"]["value"])["configMap"]["name"] == \
        configmap["metadata"]["name"]
    assert mounted(worker, env["RECONCILER_NOTIFICATIONS_SECRETS_FILE"]["value"])["secret"]["secretName"] == \
        secret["metadata"]["name"]
    assert env["RECONCILER_NOTIFICATIONS_MAX_ATTEMPTS"]["value"] == "5"
    assert env["RECONCILER_URL"]["value"] == "https://gitops.example.com"  # the links notifications carry
    # What the kubelet would mount loads with the product's own readers.
    config_dir, secret_dir = tmp_path / "cm", tmp_path / "secret"
    for directory, data in ((config_dir, configmap["data"]), (secret_dir, {
            k: base64.b64decode(v).decode() for k, v in secret["data"].items()})):
        directory.mkdir()
        for key, value in data.items():
            (directory / key).write_text(value)
    config = load_config(str(config_dir), load_secrets(str(secret_dir)))
    assert list(config.triggers) == ["on-sync-failed"] and list(config.services) == ["slack"]
    for deployment in ("api", "beat", "watch"):
        assert "RECONCILER_NOTIFICATIONS_FILE" not in env_of(container(objects, f"{RELEASE}-reconciler-{deployment}"))


def test_existing_notifications_configmap_and_secret_are_mounted_as_named() -> None:
    objects = rendered("notifications-existing")
    assert find(objects, "ConfigMap", f"{RELEASE}-reconciler-notifications") == []
    assert find(objects, "Secret", f"{RELEASE}-reconciler-notifications") == []
    worker = one(objects, "Deployment", f"{RELEASE}-reconciler-worker")["spec"]["template"]["spec"]
    assert mounted(worker, "/etc/reconciler/notifications")["configMap"]["name"] == "argocd-notifications-cm"
    assert mounted(worker, "/etc/reconciler/notifications-secret")["secret"]["secretName"] == \
        "argocd-notifications-secret"


def test_without_notifications_nothing_is_mounted_and_a_secret_alone_is_refused() -> None:
    env = env_of(container(rendered("defaults"), f"{RELEASE}-reconciler-worker"))
    assert "RECONCILER_NOTIFICATIONS_FILE" not in env and "RECONCILER_NOTIFICATIONS_SECRETS_FILE" not in env
    with pytest.raises(RenderError, match=r"notifications\.config"):
        render_values({"notifications": {"secrets": {"slack-token": "x"}}})


def test_applicationset_settings_reach_the_workers_and_the_api_and_tokens_only_through_a_secret() -> None:
    objects = rendered("applicationset")
    secret = one(objects, "Secret", f"{RELEASE}-reconciler-appset")
    assert set(secret["data"]) == {"RECONCILER_APPSET_GITHUB_TOKEN"}
    for deployment in ("worker", "api"):
        box = container(objects, f"{RELEASE}-reconciler-{deployment}")
        assert env_of(box)["RECONCILER_APPSET_MAX_DELETE_PERCENT"]["value"] == "25"
        assert {"secretRef": {"name": secret["metadata"]["name"]}} in box["envFrom"]
    for deployment in ("beat", "watch"):
        assert "envFrom" not in container(objects, f"{RELEASE}-reconciler-{deployment}")
    defaults = rendered("defaults")
    assert find(defaults, "Secret", f"{RELEASE}-reconciler-appset") == []
    assert "envFrom" not in container(defaults, f"{RELEASE}-reconciler-worker")


def test_an_existing_applicationset_token_secret_is_used_as_named() -> None:
    objects = rendered("applicationset-existing")
    assert find(objects, "Secret", f"{RELEASE}-reconciler-appset") == []
    assert container(objects, f"{RELEASE}-reconciler-worker")["envFrom"] == [{"secretRef": {"name": "scm-tokens"}}]


@pytest.mark.parametrize("name", ["notifications", "applicationset", "access", "redis-ha-tls", "redis-tls"])
def test_every_reconciler_setting_the_chart_sets_is_one_the_settings_read(name: str) -> None:
    source = "".join(p.read_text() for p in (ROOT / "reconciler" / "settings").glob("*.py"))
    names: set[str] = set()
    for _, spec in pod_specs(rendered(name)):
        for box in spec["containers"]:
            names |= {n for n in env_of(box) if n.startswith("RECONCILER_")}
    for secret in find(rendered(name), "Secret"):
        keys = {**(secret.get("data") or {}), **(secret.get("stringData") or {})}
        names |= {n for n in keys if n.startswith("RECONCILER_")}
    assert names and sorted(n for n in names if n not in source and "RECONCILER_WEBHOOK_" not in n) == []


@pytest.mark.parametrize(("name", "sentinel"), [("redis-tls", False), ("redis-ha-tls", True)])
def test_with_redis_over_tls_every_component_verifies_it_with_the_tls_secrets_ca(name: str, sentinel: bool) -> None:
    objects = rendered(name)
    for deployment in ("worker", "beat", "api", "watch"):
        spec = one(objects, "Deployment", f"{RELEASE}-reconciler-{deployment}")["spec"]["template"]["spec"]
        env = env_of(spec["containers"][0])
        assert env["RECONCILER_REDIS_TLS"]["value"] == "true", deployment
        ca = env["RECONCILER_REDIS_TLS_CA_FILE"]["value"]
        volume = mounted(spec, ca.rsplit("/", 1)[0])
        assert volume["secret"] == {"secretName": "redis-tls", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
        if sentinel:
            assert env["RECONCILER_REDIS_SENTINEL_TLS_CA_FILE"]["value"] == ca
        else:
            assert "RECONCILER_REDIS_SENTINEL_TLS" not in env
            assert env["REDIS_URL"]["value"].startswith("rediss://")
def test_previews_give_the_workers_the_hosts_tokens_from_a_secret_and_the_dashboard_url() -> None:
    objects = rendered("preview")
    worker = container(objects, f"{RELEASE}-reconciler-worker")
    secret_name = worker["envFrom"][0]["secretRef"]["name"]
    secret = one(objects, "Secret", secret_name)
    assert sorted(secret["data"]) == ["RECONCILER_PREVIEW_GITHUB_TOKEN", "RECONCILER_PREVIEW_GITLAB_TOKEN"]
    env = env_of(worker)
    assert env["RECONCILER_PREVIEW_GITLAB_API_URL"]["value"] == "https://gitlab.example.com/api/v4"
    assert env["RECONCILER_URL"]["value"] == "https://gitops.example.com"
    assert "preview" in worker["command"][worker["command"].index("--queues") + 1].split(",")
    api = container(objects, f"{RELEASE}-reconciler-api")
    assert all(ref.get("secretRef", {}).get("name") != secret_name for ref in api.get("envFrom") or [])
    assert env_of(api)["RECONCILER_PREVIEW_ALLOW_FORKS"]["value"] == "false"
    assert "envFrom" not in container(rendered("defaults"), f"{RELEASE}-reconciler-worker")
