"""Argo CD Notifications end to end: Celery workers, Redis, kubesim and git, with the catalog's
triggers unchanged, sending to real servers on loopback (an HTTP receiver for webhooks, Slack and
a GitHub-API-shaped server; an SMTP server with STARTTLS). Each event is one message."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from reconciler.control import user_actions as actions
from reconciler.control.teardown import deregister
from reconciler.model import parse_manifests
from reconciler.state import Keys
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import sync_now, wait_operation_end
from tests.notification_servers import Mailbox, Receiver, http_receiver, smtp_server

CATALOG = Path(__file__).resolve().parent.parent / "fixtures" / "notifications" / "catalog-install.yaml"
NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
BROKEN = (  # no spec.selector: the API server refuses it, so the sync fails
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"
    "spec:\n  template:\n    metadata:\n      labels: {app: web}\n"
    "    spec:\n      containers: [{name: web, image: nginx}]\n"
)
DEPLOYMENT = BROKEN.replace("spec:\n  template:", "spec:\n  selector: {matchLabels: {app: web}}\n  template:")
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata: {color: blue}\n"
WEBHOOK_PART = """webhook:
  receiver:
    method: POST
    body: |
      {{- $op := .app.status.operationState | default dict }}
      {"template": "%s", "app": "{{.app.metadata.name}}", "phase": "{{ $op.phase }}",
       "revision": "{{ ($op.syncResult | default dict).revision }}", "health": "{{.app.status.health.status}}",
       "sync": "{{.app.status.sync.status}}", "link": "{{.context.argocdUrl}}/applications/{{.app.metadata.name}}"}
"""
GITHUB_PART = """github:
  repoURLPath: https://github.com/org/shop
  revisionPath: "{{.app.status.operationState.syncResult.revision}}"
  status:
    state: success
    label: continuous-delivery/{{.app.metadata.name}}
    targetURL: "{{.context.argocdUrl}}/applications/{{.app.metadata.name}}?operation=true"
"""


def notifications_cm(receiver: Receiver, mailbox: Mailbox) -> dict[str, Any]:
    """The catalog unchanged, its templates given a webhook part (and app-deployed a github part),
    and the services on loopback."""
    # A condition's message may hold quotes: this catalog's Slack attachments then are not JSON, and
    # Argo CD fails that message just the same. Later catalogs escape it with `js`, as here.
    text = CATALOG.read_text().replace('"value": "{{$c.message}}",', '"value": "{{js $c.message}}",')
    manifest = yaml.safe_load(text)
    data = manifest["data"]
    for key in [k for k in data if k.startswith("template.")]:
        data[key] += WEBHOOK_PART % key.removeprefix("template.")
    data["template.app-deployed"] += GITHUB_PART
    data["service.webhook.receiver"] = (
        f"url: {receiver.url}/webhook\nheaders:\n- name: Authorization\n  value: Bearer $hook-token\n"
    )
    data["service.webhook.down"] = f"url: {receiver.url}/down\n"
    data["service.slack"] = f"token: $slack-token\napiURL: {receiver.url}/slack/api/\n"
    data["service.email"] = (
        f"host: 127.0.0.1\nport: {mailbox.port}\nfrom: cd@example.com\nusername: cd\npassword: $email-password\n"
        "insecure_skip_verify: true\n"
    )
    data["service.github"] = f"token: $github-token\nenterpriseBaseURL: {receiver.url}/github\n"
    return manifest


SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "argocd-notifications-secret"},
    "stringData": {"hook-token": "hook-s3cret", "slack-token": "xoxb-s3cret", "email-password": "mail-secret",
                   "github-token": "ghp_s3cret"},
}


@dataclasses.dataclass
class Notifying:
    system: System
    receiver: Receiver
    mailbox: Mailbox

    def hooks(self, template: str, app: str = "shop") -> list[dict[str, Any]]:
        bodies = [r.json() for r in self.receiver.requests("/webhook")]
        return [b for b in bodies if b["template"] == template and b["app"] == app]

    def settle(self) -> None:
        """Every decided notification delivered or given up (nothing queued, nothing pending)."""
        store = self.system.store
        self.system.wait_for(
            lambda: not store.pending_deliveries() and not store.r.llen(Keys.notify_ready),
            what="notifications to settle",
        )

    def poll_and_settle(self, name: str) -> None:
        before = self.system.status(name).get("observedAt")
        self.system.next_poll(name)
        self.system.wait_for(lambda: self.system.status(name).get("observedAt") != before, what=f"a poll of {name}")
        self.settle()


@pytest.fixture
def notifying(system: System, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Notifying]:
    from workers import tasks

    with http_receiver() as receiver, smtp_server() as mailbox:
        # the workers' outbound guard reads the allow-list from the environment at each connection
        monkeypatch.setenv("RECONCILER_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
        receiver.answers["/down"] = (503, "service unavailable")
        config, secret = tmp_path / "argocd-notifications-cm.yaml", tmp_path / "argocd-notifications-secret.yaml"
        config.write_text(yaml.safe_dump(notifications_cm(receiver, mailbox)))
        secret.write_text(yaml.safe_dump(SECRET))
        settings = system.app.conf.reconciler_settings
        system.app.conf.reconciler_settings = dataclasses.replace(
            settings,
            notifications_file=str(config),
            notifications_secrets_file=str(secret),
            public_url="https://cd.example.com",
            notifications_max_attempts=3,
            notifications_retry_seconds=0.2,
        )
        tasks.reset_services()
        try:
            yield Notifying(system, receiver, mailbox)
        finally:
            system.app.conf.reconciler_settings = settings
            tasks.reset_services()


def application(repo: GitRepo, name: str = "shop", project: str = "default", **annotations: str) -> str:
    subscribe = {f"notifications.argoproj.io/subscribe.{key}": value for key, value in annotations.items()}
    return json.dumps({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "annotations": subscribe},
        "spec": {
            "project": project,
            "source": {"repoURL": f"file://{repo.path}", "path": "app", "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
        },
    })


SHOP_SUBSCRIPTIONS = {
    "on-created.receiver": "",
    "on-deleted.receiver": "",
    "on-sync-failed.receiver": "",
    "on-sync-failed.slack": "deploys",
    "on-sync-succeeded.receiver": "",
    "on-deployed.receiver": "",
    "on-deployed.email": "ops@example.com",
    "on-deployed.github": "",
    "on-health-degraded.receiver": "",
}


def redis_text(system: System, key: str) -> str:
    """Everything Redis holds under `key`, as text (to look for secrets in it)."""
    r = system.store.r
    kind = r.type(key)
    if kind == "string":
        return str(r.get(key))
    if kind == "hash":
        return json.dumps(r.hgetall(key))
    if kind == "list":
        return json.dumps(r.lrange(key, 0, -1))
    if kind == "zset":
        return json.dumps(r.zrange(key, 0, -1))
    return json.dumps(sorted(r.smembers(key))) if kind == "set" else ""


def degrade(system: System, namespace: str, name: str) -> None:
    live = system.cluster.get("apps/v1", "Deployment", namespace, name)
    assert live is not None
    status = {"observedGeneration": live["metadata"].get("generation", 1), "conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
         "message": f'ReplicaSet "{name}-1" has timed out progressing.'}]}
    url = f"{system.kubesim.url}/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"
    answer = httpx.patch(url, json={"status": status}, headers={"Content-Type": "application/merge-patch+json"})
    answer.raise_for_status()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_each_event_of_an_apps_life_is_notified_exactly_once_with_its_rendered_text(
    notifying: Notifying, git_repo_factory: Callable[..., GitRepo]
) -> None:
    system, receiver, mailbox = notifying.system, notifying.receiver, notifying.mailbox
    repo = git_repo_factory({"app/ns.yaml": NAMESPACE, "app/web.yaml": BROKEN})
    actions.create(system.store, parse_manifests(application(repo, **SHOP_SUBSCRIPTIONS)), owner="api")
    system.wait_for(lambda: notifying.hooks("app-created"), what="the created webhook")
    notifying.settle()
    assert len(notifying.hooks("app-created")) == 1
    assert receiver.requests("/webhook")[0].headers["Authorization"] == "Bearer hook-s3cret"

    # A failing sync: one webhook and one Slack message, rendered, after the follow-up poll.
    sync_now(system, "shop")
    failed = wait_operation_end(system, "shop")
    assert failed["phase"] == "Failed"
    system.wait_for(lambda: notifying.hooks("app-sync-failed"), what="the sync-failed webhook")
    notifying.poll_and_settle("shop")
    [hook] = notifying.hooks("app-sync-failed")
    assert hook["phase"] == "Failed" and hook["link"] == "https://cd.example.com/applications/shop"
    [slack] = receiver.requests("/slack/api/chat.postMessage")
    message = slack.json()
    assert message["channel"] == "deploys" and slack.headers["Authorization"] == "Bearer xoxb-s3cret"
    assert message["text"].startswith(":exclamation:  The sync operation of application shop has failed at ")
    assert "spec.selector" in message["text"]
    assert json.loads(json.dumps(message["attachments"]))[0]["title_link"] == "https://cd.example.com/applications/shop"

    # A successful deploy: on-sync-succeeded and on-deployed once each; email and GitHub status once.
    repo.remove("app/web.yaml")
    fixed = repo.commit({"app/settings.yaml": CONFIGMAP}, message="fix")
    sync_now(system, "shop")
    assert wait_operation_end(system, "shop", after=failed["id"])["phase"] == "Succeeded"
    system.wait_for(lambda: notifying.hooks("app-deployed"), what="the deployed webhook")
    notifying.poll_and_settle("shop")
    notifying.poll_and_settle("shop")
    assert [h["revision"] for h in notifying.hooks("app-sync-succeeded")] == [fixed]
    assert [(h["revision"], h["health"]) for h in notifying.hooks("app-deployed")] == [(fixed, "Healthy")]
    [mail] = mailbox.wait(1)
    assert mail["tls"] and mail["to"] == ["ops@example.com"]
    assert "Subject: New version of an application shop is up and running." in mail["data"]
    [status] = receiver.requests("/github/api/v3/repos/org/shop/statuses/")
    assert status.path.endswith(f"/statuses/{fixed}")
    assert status.json()["context"] == "continuous-delivery/shop"

    # A Deployment that degrades: one health-degraded message, however many polls see it.
    repo.commit({"app/web.yaml": DEPLOYMENT}, message="web")
    deployed = system.operation("shop")["id"]
    sync_now(system, "shop")
    assert wait_operation_end(system, "shop", after=deployed)["phase"] == "Succeeded"
    degrade(system, "shop", "web")
    system.wait_for(lambda: (system.next_poll("shop"), notifying.hooks("app-health-degraded"))[1], timeout=60,
                    what="the degraded webhook")
    notifying.poll_and_settle("shop")
    notifying.poll_and_settle("shop")
    [degraded] = notifying.hooks("app-health-degraded")
    assert degraded["health"] == "Degraded"

    detail = actions.get_app(system.store, "shop")["notifications"]
    assert {d["trigger"] for d in detail["deliveries"]} >= {"on-created", "on-sync-failed", "on-health-degraded"}
    assert detail["failures"] == [] and detail["pending"] == [] and detail["problems"] == []
    assert "s3cret" not in json.dumps(detail)
    assert not [key for key in system.store.r.scan_iter() if "s3cret" in redis_text(system, key)]

    # Deleted: one message, though the app and its state are gone.
    from workers.tasks import services

    svc = services()
    assert deregister(svc.store, "shop", svc.settings)
    system.wait_for(lambda: notifying.hooks("app-deleted"), what="the deleted webhook")
    notifying.settle()
    assert len(notifying.hooks("app-deleted")) == 1
    for template in ("app-created", "app-sync-failed", "app-deployed", "app-health-degraded"):
        assert len(notifying.hooks(template)) == 1, template
    assert len(mailbox.messages) == 1 and len(receiver.requests("/slack/")) == 1
    counters = system.store.counters([Keys.metrics_notifications])[Keys.metrics_notifications]
    assert counters['["receiver","on-sync-failed","true"]'] == "1"
    assert counters['["slack","on-sync-failed","true"]'] == "1"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_project_subscription_applies_to_its_apps_and_a_down_service_is_retried_then_reported(
    notifying: Notifying, git_repo_factory: Callable[..., GitRepo]
) -> None:
    system, receiver = notifying.system, notifying.receiver
    repo = git_repo_factory({"app/settings.yaml": CONFIGMAP.replace("shop", "default")})
    project = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team", "namespace": "argocd", "annotations": {
            "notifications.argoproj.io/subscribe.on-created.receiver": "",
            "notifications.argoproj.io/subscribe.on-created.down": "",
        }},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]},
    }
    actions.create(system.store, parse_manifests(json.dumps(project)), owner="api")
    actions.create(system.store, parse_manifests(application(repo, name="member", project="team")), owner="api")
    actions.create(system.store, parse_manifests(application(repo, name="outsider")), owner="api")
    # The receiver's message is not held up by the service that is down.
    system.wait_for(lambda: notifying.hooks("app-created", app="member"), what="the project's subscription")
    notifying.settle()
    assert len(notifying.hooks("app-created", app="member")) == 1
    assert notifying.hooks("app-created", app="outsider") == []
    down = receiver.requests("/down")
    assert len(down) == 3  # RECONCILER_NOTIFICATIONS_MAX_ATTEMPTS in this test
    assert receiver.requests("/webhook")[0].headers.get("Date", "") <= down[-1].headers.get("Date", "~")
    [failure] = actions.get_app(system.store, "member")["notifications"]["failures"]
    assert (failure["service"], failure["trigger"], failure["attempts"]) == ("down", "on-created", 3)
    assert "answered 503" in failure["error"]
    counters = system.store.counters([Keys.metrics_notifications])[Keys.metrics_notifications]
    assert counters['["down","on-created","false"]'] == "1"
