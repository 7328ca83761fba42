"""Attacks through the public surface of one running `reconciler up` (issue 10): the REST API,
a Git repository that a root app reads, and the state store behind them. Each test is one
finding; it failed on the code before the fix."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis

from reconciler.state.redis_server import free_port
from tests.security.conftest import Up, answers, application, said, text_of, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def test_1_repo_url_that_is_a_git_option_or_transport_runs_nothing_via_rest_or_a_root_apps_repository(
    up: Up, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    for name, url, refusal in (
        ("opt", f"--upload-pack=touch {marker};:x", 'starts with "-"'),
        ("ext", f"ext::sh -c touch% {marker}", 'transport "ext::"'),
        ("fd", "fd::3", 'transport "fd::"'),
    ):
        response = up.create(application(name, url))
        assert response.status_code == 400, response.text
        assert "spec.source.repoURL" in said(response) and refusal in said(response)
    response = up.create(application("rev", "https://example.com/r.git", revision="--output=/tmp/x"))
    assert response.status_code == 400 and "spec.source.targetRevision" in said(response)

    # The same child Application committed to the repository a root app reads.
    root = up.repo("root-1", {"apps/evil.yaml": application("evil", f"--upload-pack=touch {marker};:x")})
    assert up.create(application("root-1", root.url, path="apps")).status_code == 201

    def refused_child() -> bool:
        return 'starts with "-"' in text_of(up.app("root-1"))

    wait_for(refused_child, 60, "the root app to report its invalid child")
    assert up.app("evil") == {}
    assert not marker.exists()


def test_2_local_repositories_outside_the_allowed_roots_and_kustomize_bases_outside_the_repo_are_refused(
    up: Up, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    from tests.conftest import GitRepo

    other = GitRepo(elsewhere)
    other.git("init", "-q", "-b", "main")
    other.commit({"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\ndata: {k: v}\n"})
    mirrors = up.data_dir / "git" / "mirrors"
    for name, url in (("outside", other.url), ("mirror", mirrors.as_uri()), ("plainpath", str(elsewhere))):
        assert up.create(application(name, url, automated=False)).status_code == 201
        with up.http() as http:
            diff = http.get(f"/api/v1/applications/{name}/diff", params={"refresh": "true"})
        assert "RECONCILER_LOCAL_REPO_ROOTS" in diff.text or "data dir" in diff.text, diff.text
        assert "stolen" not in diff.text and "Synced" not in diff.text
        wait_for(lambda n=name: "RECONCILER_LOCAL_REPO_ROOTS" in text_of(up.app(n)) or
                 "data dir" in text_of(up.app(n)), 60, f"a condition on {name} naming the variable")

    # Kustomize: a base that climbs out of the snapshot (data/git/snapshots/<sha>/app -> tmp/outside).
    outside = up.data_dir.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (outside / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaked}\ndata: {k: v}\n")
    repo = up.repo("kust-2", {"app/kustomization.yaml": "resources: [../../../../../outside]\n"})
    assert up.create(application("kust", repo.url, path="app", automated=False)).status_code == 201
    with up.http() as http:
        diff = http.get("/api/v1/applications/kust/diff", params={"refresh": "true"})
    assert "outside the repository" in diff.text, diff.text
    assert "leaked" not in diff.text


def test_3_credentials_in_a_repo_url_are_refused_and_never_stored_or_echoed(up: Up) -> None:
    response = up.create(application("creds", "https://deploy:S3CRET-PASSWORD@example.com/org/repo.git"))
    assert response.status_code == 400
    assert "RECONCILER_REPO_<N>_PASSWORD" in response.text
    assert "S3CRET-PASSWORD" not in response.text
    assert up.app("creds") == {}
    assert "S3CRET-PASSWORD" not in up.redis_dump()


def test_4_cross_site_writes_are_refused_and_a_plain_local_client_still_works(up: Up) -> None:
    repo = up.repo("csrf-4", {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: csrf}\n"})
    manifest = application("csrf", repo.url, automated=False)
    with up.http() as http:
        from_a_web_page = http.post("/api/v1/applications", content=manifest,
                                    headers={"Content-Type": "text/plain", "Origin": "https://evil.example"})
        json_from_a_web_page = http.post("/api/v1/applications", content=manifest,
                                         headers={"Content-Type": "application/yaml", "Origin": "https://evil.example"})
        text_plain = http.post("/api/v1/applications", content=manifest, headers={"Content-Type": "text/plain"})
        # DNS rebinding: a page on a name re-pointed at 127.0.0.1 is "same-origin" by name.
        rebound = up.url.replace("127.0.0.1", "rebound.example")
        rebinding = http.post("/api/v1/applications", content=manifest, headers={
            "Content-Type": "application/yaml", "Origin": rebound, "Host": rebound.split("//", 1)[1]})
        assert (from_a_web_page.status_code, json_from_a_web_page.status_code, rebinding.status_code) == (403, 403, 403)
        assert text_plain.status_code == 415
        assert up.app("csrf") == {}
        own_origin = http.post("/api/v1/applications", content=manifest,
                               headers={"Content-Type": "application/yaml", "Origin": up.url})
        assert own_origin.status_code == 201, own_origin.text
        no_origin = http.post("/api/v1/applications/csrf/sync", json={"dryRun": True})
        assert no_origin.status_code in (200, 202), no_origin.text


SECRET_VALUE = "TOP-SECRET-VALUE-4242"


def test_6_secret_values_never_rest_in_redis_nor_show_in_status_history_or_diffs(up: Up) -> None:
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\ntype: Opaque\n"
        f"data: {{password: {base64.b64encode(SECRET_VALUE.encode()).decode()}}}\n"
        f"stringData: {{token: {SECRET_VALUE}-plain}}\n"
    )
    repo = up.repo("secret-6", {"app/secret.yaml": secret,
                                "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n"})
    assert up.create(application("secrets", repo.url, path="app")).status_code == 201
    wait_for(lambda: up.app("secrets").get("sync") == "Synced" and up.app("secrets").get("history"), 90,
             "the app with a Secret to be synced")
    with up.http() as http:
        seen = [http.get("/api/v1/applications/secrets").text,
                http.get("/api/v1/applications/secrets/diff", params={"refresh": "true"}).text]
    dump = up.redis_dump()
    assert "rc:op:" in dump or "rc:render:" in dump  # the records the attack read are there, sealed
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    for text in (*seen, dump):
        assert SECRET_VALUE not in text and encoded not in text
    # Compressed render cache entries: open them as a reader of Redis would.
    import zlib

    client = up.redis()
    for key in client.scan_iter("rc:render:*"):
        opened = zlib.decompress(base64.b64decode(client.get(key))).decode()
        assert SECRET_VALUE not in opened and encoded not in opened
    client.close()


BOMB = """apiVersion: v1
kind: ConfigMap
metadata: {name: bomb}
data:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_8_a_yaml_bomb_in_a_repository_is_refused_naming_the_file_and_other_apps_go_on(up: Up) -> None:
    bomb = up.repo("bomb-8", {"app/bomb.yaml": BOMB})
    fine = up.repo("fine-8", {"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n"})
    assert up.create(application("bomb", bomb.url, path="app")).status_code == 201
    assert up.create(application("fine", fine.url, path="app")).status_code == 201
    wait_for(lambda: "app/bomb.yaml" in text_of(up.app("bomb")) and "YAML nodes" in text_of(up.app("bomb")),
             60, "the bomb app to report the refused file")
    wait_for(lambda: up.app("fine").get("sync") == "Synced", 60, "the other app to be synced")


def test_9_the_embedded_redis_needs_its_generated_password(up: Up) -> None:
    port = int((up.data_dir / "redis" / "redis.port").read_text())
    anonymous = redis.Redis(host="127.0.0.1", port=port)
    with pytest.raises(redis.AuthenticationError):
        anonymous.get("anything")
    anonymous.close()
    password_file = up.data_dir / "redis" / "password"
    assert password_file.stat().st_mode & 0o077 == 0
    password = password_file.read_text().strip()
    assert password not in "".join(up.output)
    assert up.redis().ping()
    # A request to the API never shows it either.
    assert password not in httpx.get(f"{up.url}/metrics", timeout=10).text


def test_9_an_api_without_cluster_credentials_has_workers_do_its_cluster_work(up: Up, tmp_path: Path) -> None:
    # As the Helm chart runs it: RECONCILER_API_CLUSTER_ACCESS=workers and no kubeconfig or
    # token at all, so a compromised API process cannot reach a cluster.
    port = int((up.data_dir / "redis" / "redis.port").read_text())
    password = (up.data_dir / "redis" / "password").read_text().strip()
    env = {**up.env, "REDIS_URL": f"redis://:{password}@127.0.0.1:{port}/0",
           "KUBECONFIG": str(tmp_path / "no-such-kubeconfig"), "RECONCILER_API_CLUSTER_ACCESS": "workers",
           "RECONCILER_API_AUTH": "none"}
    api_port = free_port()
    api = subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", "api", "--port", str(api_port), "--host", "127.0.0.1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{api_port}"
    try:
        wait_for(lambda: api.poll() is not None or answers(f"{url}/healthz"), 60, "`reconciler api`")
        assert api.poll() is None, api.communicate()[0]
        repo = up.repo("tokenless", {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
                                                "data: {a: b}\n"})
        with httpx.Client(base_url=url, timeout=90, trust_env=False) as http:
            created = http.post("/api/v1/applications", headers={"Content-Type": "application/yaml"},
                                content=application("tokenless", str(repo.path), automated=False))
            assert created.status_code in (200, 201), created.text
            diff = http.get("/api/v1/applications/tokenless/diff", params={"refresh": "true"})
            assert diff.status_code == 200, diff.text
            assert diff.json()["sync"]["status"] == "OutOfSync"
            plan = http.post("/api/v1/applications/tokenless/sync", json={"dryRun": True})
            assert plan.status_code == 200, plan.text
            assert any("/ConfigMap/tokenless/settings" in a for wave in plan.json()["waves"] for a in wave["apply"])
            deleted = http.delete("/api/v1/applications/tokenless", params={"cascade": "true"})
            assert deleted.status_code == 200, deleted.text
    finally:
        api.send_signal(signal.SIGINT)
        try:
            output = api.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            api.kill()
            output = api.communicate()[0]
    assert "no-such-kubeconfig" not in output  # the API never tried to load cluster credentials
