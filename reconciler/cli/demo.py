"""`make demo`: the whole system on this machine, no cluster needed.

Starts kubesim (simulated controllers on), a private Redis, a worker, beat, the watcher, the API and
Flower; creates a Git repository laid out as the seed's "Repository Structure"
(examples/gitops-repo); registers the root app; shows every app reach Synced/Healthy;
then does what the seed's CI step does (edit the image tag in values-prod.yaml, commit,
push), posts the signed GitHub webhook, and shows the new revision applied and how long
it took. Everything keeps running until Ctrl-C, which stops every process started here.

Notifications: the demo's argocd-notifications-cm subscribes every app (its `subscriptions`)
to on-sync-succeeded and on-deployed through a webhook service pointing at a small receiver this
demo runs on loopback, which prints what it receives when the push lands.

`python -m reconciler.cli.demo --headless` stops after the push (used by the tests).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from reconciler.core.urls import redact_url
from reconciler.state.redis_server import RedisProcess, free_port

EXAMPLE_REPO = Path(__file__).resolve().parents[2] / "examples" / "gitops-repo"
SEED_REPO_URL = "https://github.com/your-org/k8s-config"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "CI Bot",
    "GIT_AUTHOR_EMAIL": "ci@example.com",
    "GIT_COMMITTER_NAME": "CI Bot",
    "GIT_COMMITTER_EMAIL": "ci@example.com",
}


class DemoFailed(RuntimeError):
    pass


def say(message: str) -> None:
    print(message, flush=True)


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_IDENTITY}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def make_repository(workdir: Path) -> tuple[Path, str]:
    """A bare 'origin' plus a working clone holding the seed layout; returns (clone, origin URL)."""
    origin = workdir / "k8s-config.git"
    clone = workdir / "k8s-config"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    shutil.copytree(EXAMPLE_REPO, clone)
    url = origin.as_uri()
    for file in clone.rglob("*.yaml"):
        text = file.read_text()
        if SEED_REPO_URL in text:
            file.write_text(text.replace(SEED_REPO_URL, url))
    git(clone, "init", "-q", "-b", "main")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "Initial layout from the seed")
    git(clone, "remote", "add", "origin", url)
    git(clone, "push", "-q", "origin", "main")
    return clone, url


# Argo CD's catalog triggers, and a template whose webhook part says what happened.
NOTIFICATIONS_CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-notifications-cm
data:
  service.webhook.demo-receiver: |
    url: {receiver}
  trigger.on-sync-succeeded: |
    - description: Application syncing has succeeded
      oncePer: app.status.operationState?.syncResult?.revision
      send: [app-event]
      when: app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']
  trigger.on-deployed: |
    - description: Application is synced and healthy. Triggered once per commit.
      oncePer: app.status.operationState?.syncResult?.revision
      send: [app-event]
      when: app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']
        and app.status.health.status == 'Healthy'
  template.app-event: |
    message: Application {{{{.app.metadata.name}}}} is {{{{.app.status.health.status}}}}
    webhook:
      demo-receiver:
        method: POST
        body: |
          {{"app": "{{{{.app.metadata.name}}}}", "health": "{{{{.app.status.health.status}}}}",
           "revision": "{{{{.app.status.operationState.syncResult.revision}}}}",
           "link": "{{{{.context.argocdUrl}}}}/applications/{{{{.app.metadata.name}}}}"}}
  subscriptions: |
    - recipients: [demo-receiver]
      triggers: [on-sync-succeeded, on-deployed]
"""


class NotificationReceiver:
    """A webhook receiver on loopback standing in for Slack: keeps and prints what arrives."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received, quiet = self.received, self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    received.append(json.loads(body))
                except ValueError:
                    received.append({"body": body.decode(errors="replace")})
                if not quiet.quiet:
                    say(f"   notification received: {received[-1]}")
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.quiet = True
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/demo"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Processes:
    """Every child process of the demo, stopped together."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        with open(self.log_dir / "pids", "a") as pids:  # lets a test check nothing is left behind
            pids.write(f"{proc.pid}\n")
        return proc

    def check(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise DemoFailed(f"{name} exited with status {proc.returncode}; see {self.log_dir / (name + '.log')}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_until(check: Callable[[], Any], timeout: float, what: str, processes: Processes) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check()
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise DemoFailed(f"timed out after {timeout:.0f}s waiting for {what}")


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli", *args], env=env, capture_output=True, text=True, check=False
    )


def app_list(env: dict[str, str]) -> list[dict[str, Any]]:
    result = cli(env, "app", "list", "-o", "json")
    return json.loads(result.stdout) if result.returncode == 0 else []


def sealed_secrets_line(env: dict[str, str]) -> str:
    """The seed's Sealed Secrets flow: the CRD and a SealedSecret synced in one app."""
    detail = json.loads(cli(env, "app", "get", "infrastructure", "-o", "json").stdout or "{}")
    rows = {(r.get("kind"), r.get("name")): r.get("status") for r in detail.get("resources") or []}
    crd = rows.get(("CustomResourceDefinition", "sealedsecrets.bitnami.com"))
    sealed = rows.get(("SealedSecret", "registry-credentials"))
    return (f"   infrastructure/sealed-secrets: CustomResourceDefinition sealedsecrets.bitnami.com {crd}, "
            f"SealedSecret registry-credentials {sealed} (the CRD applied first, in the same sync)")


def all_synced_and_healthy(env: dict[str, str], names: set[str]) -> list[dict[str, Any]] | None:
    apps = app_list(env)
    ready = {a["name"] for a in apps if a["sync"] == "Synced" and a["health"] == "Healthy"}
    return apps if names <= ready else None


def push_payload(url: str, before: str, after: str, files: list[str]) -> bytes:
    """A GitHub push event, as GitHub documents it (trimmed to the fields receivers read)."""
    payload = {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "repository": {
            "name": "k8s-config",
            "full_name": "your-org/k8s-config",
            "clone_url": url,
            "html_url": url,
            "default_branch": "main",
        },
        "pusher": {"name": "ci-bot"},
        "commits": [{"id": after, "added": [], "removed": [], "modified": files}],
        "head_commit": {"id": after, "added": [], "removed": [], "modified": files},
    }
    return json.dumps(payload).encode()


def api_image(kubesim_url: str) -> str:
    try:
        resp = httpx.get(f"{kubesim_url}/apis/apps/v1/namespaces/production/deployments/api", timeout=5)
    except httpx.HTTPError:
        return ""
    if resp.status_code != 200:
        return ""
    return str(resp.json()["spec"]["template"]["spec"]["containers"][0]["image"])


def run(headless: bool, port: int, workdir: Path) -> int:
    processes = Processes(workdir)
    redis = RedisProcess(workdir / "redis", persistent=True, password=secrets.token_hex(16))
    try:
        return _run(headless, port, workdir, processes, redis)
    except DemoFailed as exc:
        say(f"demo failed: {exc}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        say("stopping every process the demo started ...")
        processes.stop()
        redis.stop()


@dataclass
class DemoSystem:
    """What the demo started and what its later steps need of it."""

    env: dict[str, str]
    api_url: str
    kubesim_url: str
    flower_port: int
    admin_token: str
    webhook_secret: str
    receiver: NotificationReceiver


def _run(headless: bool, port: int, workdir: Path, processes: Processes, redis: RedisProcess) -> int:
    started = time.monotonic()
    system = _start_system(port, workdir, processes, redis)
    clone, origin_url = make_repository(workdir)
    say(f"3. Git repository {origin_url} created with the seed's layout (argocd/, apps/, infrastructure/)")
    _register_root(system, clone, processes, started)
    _push_a_release(system, clone, origin_url, processes)
    if headless:
        return 0
    _serve_until_interrupted(system, workdir, redis, processes)
    return 0


def _start_system(port: int, workdir: Path, processes: Processes, redis: RedisProcess) -> DemoSystem:
    """kubesim, Redis, and the reconciler's processes (worker, beat, watcher, API, Flower)."""
    kube_port = free_port()
    kubesim_url = f"http://127.0.0.1:{kube_port}"
    kubeconfig = workdir / "kubeconfig"
    # kubesim runs as its own program, which writes the kubeconfig: the product never imports it.
    processes.start(
        "kubesim",
        [sys.executable, "-m", "kubesim", "--port", str(kube_port), "--controllers", "--ready-delay", "1",
         "--kubeconfig", str(kubeconfig)],
        dict(os.environ),
    )
    redis.start()
    wait_until(kubeconfig.exists, 30, "kubesim to start", processes)
    receiver = NotificationReceiver()
    notifications_cm = workdir / "argocd-notifications-cm.yaml"
    notifications_cm.write_text(NOTIFICATIONS_CM.format(receiver=receiver.url))
    system = DemoSystem(
        env={}, api_url=f"http://127.0.0.1:{port}", kubesim_url=kubesim_url, flower_port=free_port(),
        admin_token=secrets.token_hex(16), webhook_secret=secrets.token_hex(16), receiver=receiver,
    )
    system.env = _environment(system, redis, kubeconfig, workdir, notifications_cm)
    say(f"1. kubesim (emulated Kubernetes API, controllers on) at {kubesim_url}; Redis at {redact_url(redis.url)}")
    env = system.env
    processes.start("worker", [sys.executable, "-m", "reconciler.cli", "worker", "--loglevel", "WARNING"], env)
    processes.start("beat", [sys.executable, "-m", "reconciler.cli", "beat", "--loglevel", "WARNING"], env)
    processes.start("watch", [sys.executable, "-m", "reconciler.cli", "watch", "--loglevel", "WARNING"], env)
    processes.start("api", [sys.executable, "-m", "reconciler.cli", "api", "--port", str(port), "--host", "127.0.0.1"],
                    env)
    processes.start("flower", [sys.executable, "-m", "reconciler.cli", "flower", "--port", str(system.flower_port),
                               "--host", "127.0.0.1"], env)
    wait_until(lambda: _ok(f"{system.api_url}/readyz"), 60, "the API to be ready", processes)
    say(f"2. worker, beat, watcher, API ({system.api_url}) and Flower (http://127.0.0.1:{system.flower_port}) are up")
    return system


def _environment(
    system: DemoSystem, redis: RedisProcess, kubeconfig: Path, workdir: Path, notifications_cm: Path
) -> dict[str, str]:
    env = {
        **os.environ,
        "REDIS_URL": redis.url,
        "KUBECONFIG": str(kubeconfig),
        "RECONCILER_DATA_DIR": str(workdir / "data"),
        "RECONCILER_WEBHOOK_GITHUB_SECRET": system.webhook_secret,
        "RECONCILER_API_TOKENS": f"admin:{system.admin_token}",
        "RECONCILER_POLL_INTERVAL": "180",
        # The demo's Git repository is a local one it creates in the workdir (its data dir there
        # stays refused): local repositories are read only under this root.
        "RECONCILER_LOCAL_REPO_ROOTS": str(workdir.resolve()),
        # Notifications to the receiver above (a loopback address, allowed on purpose).
        "RECONCILER_NOTIFICATIONS_FILE": str(notifications_cm),
        "RECONCILER_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "RECONCILER_URL": system.api_url,
    }
    env.pop("RECONCILER_SERVER", None)
    return env


def _register_root(system: DemoSystem, clone: Path, processes: Processes, started: float) -> None:
    env = system.env
    result = cli(env, "app", "create", "-f", str(clone / "argocd" / "root.yaml"))
    if result.returncode != 0:
        raise DemoFailed(f"registering the root app failed: {result.stderr.strip()}")
    say("4. root app registered: `reconciler app create -f argocd/root.yaml`")
    wait_until(lambda: all_synced_and_healthy(env, {"root", "api", "worker", "infrastructure"}), 120,
               "every app to be Synced and Healthy", processes)
    say(f"   every app Synced and Healthy {time.monotonic() - started:.1f}s after start:")
    say(cli(env, "app", "list").stdout.rstrip())
    say(sealed_secrets_line(env))


def _push_a_release(system: DemoSystem, clone: Path, origin_url: str, processes: Processes) -> None:
    """CI pushes a new image tag; GitHub's signed webhook makes it land at once."""
    env, receiver = system.env, system.receiver
    before = git(clone, "rev-parse", "HEAD")
    tag = secrets.token_hex(4)
    values = clone / "apps" / "api" / "values-prod.yaml"
    values.write_text(values.read_text().replace("tag: abc123def", f"tag: {tag}"))
    git(clone, "add", "apps/api/values-prod.yaml")
    git(clone, "commit", "-q", "-m", f"chore: deploy api@{tag}")
    git(clone, "push", "-q", "origin", "main")
    after = git(clone, "rev-parse", "HEAD")
    body = push_payload(origin_url, before, after, ["apps/api/values-prod.yaml"])
    signature = "sha256=" + hmac.new(system.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    pushed = time.monotonic()
    resp = httpx.post(
        f"{system.api_url}/api/webhook",
        content=body,
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": signature, "Content-Type": "application/json"},
        timeout=10,
    )
    say(f"5. CI pushed api@{tag} ({after[:7]}) and GitHub's signed webhook answered {resp.status_code}: {resp.text}")
    say(f"   (a webhook receiver at {receiver.url} gets the apps' notifications: argocd-notifications-cm)")
    receiver.quiet = False
    wanted = f"registry.example.com/api:{tag}"
    wait_until(lambda: api_image(system.kubesim_url) == wanted, 60, "the new image to be applied", processes)
    say(f"6. new revision applied to the cluster {time.monotonic() - pushed:.2f}s after the push")
    wait_until(lambda: _healthy_at(env, "api", after), 120, "the api rollout to finish", processes)
    say(f"7. rollout finished: api Synced and Healthy at {after[:7]}, {time.monotonic() - pushed:.2f}s after the push")
    wait_until(lambda: any(n.get("app") == "api" and n.get("revision") == after for n in receiver.received), 60,
               "the notification of the api deploy", processes)
    say(f"8. the local webhook receiver got the notification of api@{after[:7]} (on-sync-succeeded / on-deployed)")
    say(cli(env, "app", "get", "api").stdout.rstrip())


def _serve_until_interrupted(system: DemoSystem, workdir: Path, redis: RedisProcess, processes: Processes) -> None:
    say("")
    say(f"API and dashboard: {system.api_url}/   (token: {system.admin_token})")
    say(f"Flower:            http://127.0.0.1:{system.flower_port}/")
    say(f"kubesim:           {system.kubesim_url}   (kubeconfig: {workdir / 'kubeconfig'})")
    # The Redis password goes to a file only its owner reads, not to the terminal's scroll-back.
    url_file = workdir / "redis-url"
    url_file.touch(mode=0o600)
    url_file.write_text(redis.url)
    say(f"Try: REDIS_URL=$(cat {url_file}) KUBECONFIG={workdir / 'kubeconfig'} .venv/bin/reconciler app list")
    say("Running until Ctrl-C.")
    while True:
        processes.check()
        time.sleep(0.5)


def _healthy_at(env: dict[str, str], name: str, revision: str) -> bool:
    return any(
        a["name"] == name and a["revision"] == revision and a["sync"] == "Synced" and a["health"] == "Healthy"
        for a in app_list(env)
    )


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reconciler.cli.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--headless", action="store_true", help="stop after the push is applied")
    parser.add_argument("--port", type=int, default=8080, help="API port (default 8080)")
    parser.add_argument("--workdir", type=Path, help="where to keep repos, logs and data (default: a temp dir)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="reconciler-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"demo files and logs in {workdir}")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    return run(args.headless, args.port, workdir)


if __name__ == "__main__":
    sys.exit(main())
