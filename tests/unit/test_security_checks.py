"""The checks behind issue 10, one by one (tests/security/ drives them through `reconciler up`)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from reconciler.core.sandbox import Limits
from reconciler.core.urls import redact_urls_in, repo_url_problem, revision_problem
from reconciler.source.git.errors import GitError
from reconciler.source.git.local_roots import LocalRepoPolicy
from reconciler.source.render.errors import RenderError
from reconciler.source.render.kustomize import check_references
from reconciler.source.render.limits import run_tool
from reconciler.source.render.manifests import parse_yaml_stream
from reconciler.state.sealing import SEALED, Sealer, UnsealError


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("--upload-pack=touch x;:y", 'starts with "-"'),
        ("ext::sh -c touch% x", 'transport "ext::"'),
        ("fd::3", 'transport "fd::"'),
        ("git://host/repo", 'scheme "git"'),
        ("ssh://-oProxyCommand=x/repo", "no valid host"),
        ("git@-oProxyCommand=x:repo", "no valid host"),
        ("ssh://-oProxyCommand=x@host/repo", "user name starting"),
        ("https://user:pw@host/repo", "RECONCILER_REPO_<N>_PASSWORD"),
        ("ssh://git:pw@host/repo", "password"),
    ],
)
def test_refused_repo_urls_say_why_without_echoing_a_password(url: str, refusal: str) -> None:
    problem = repo_url_problem(url)
    assert refusal in problem
    assert "pw@" not in problem


@pytest.mark.parametrize(
    "url",
    ["https://github.com/o/r.git", "http://h:8080/r", "ssh://git@h:22/r", "git@github.com:o/r", "file:///srv/r",
     "/srv/r"],
)
def test_accepted_repo_urls(url: str) -> None:
    assert repo_url_problem(url) == ""


def test_revision_starting_with_a_dash_is_refused() -> None:
    assert "starts with" in revision_problem("--output=/x")
    assert revision_problem("main") == ""


def test_local_repositories_only_under_the_roots_and_never_in_the_data_dir(tmp_path: Path) -> None:
    root, data = tmp_path / "repos", tmp_path / "repos" / "data"
    (root / "a").mkdir(parents=True)
    (data / "git").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    policy = LocalRepoPolicy(roots=(root,), forbidden=(data,))
    policy.check((root / "a").as_uri())
    policy.check("https://github.com/o/r")
    with pytest.raises(GitError, match="RECONCILER_LOCAL_REPO_ROOTS"):
        policy.check((tmp_path / "elsewhere").as_uri())
    with pytest.raises(GitError, match="RECONCILER_LOCAL_REPO_ROOTS"):
        policy.check(str(root / "a" / ".." / ".." / "elsewhere"))
    with pytest.raises(GitError, match="data dir"):
        policy.check((data / "git").as_uri())
    (root / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(GitError, match="RECONCILER_LOCAL_REPO_ROOTS"):
        policy.check(str(root / "link"))


def test_a_yaml_bomb_is_refused_naming_the_file() -> None:
    levels = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    levels += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata:\n" + "\n".join("  " + line for line in levels)
    with pytest.raises(RenderError, match="YAML nodes") as caught:
        parse_yaml_stream(text, "apps/bomb.yaml")
    assert "apps/bomb.yaml" in str(caught.value)


def test_a_renderer_past_its_output_limit_or_time_is_stopped() -> None:
    with pytest.raises(RenderError, match="more than 1000 bytes"):
        run_tool(["sh", "-c", "yes | head -c 100000"], origin="x", tool="t", max_bytes=1000)
    with pytest.raises(RenderError, match=r"longer than 0\.5 s.*RECONCILER_RENDER_TIMEOUT"):
        run_tool(["sleep", "5"], origin="x", tool="t", limits=Limits(256 << 20, 5, 0.5))
    assert run_tool(["echo", "ok"], origin="x", tool="t") == "ok\n"


@pytest.mark.parametrize(
    ("kustomization", "refusal"),
    [
        ("resources: [../../outside]\n", "outside the repository"),
        ("resources: [\"https://github.com/o/r//base?ref=v1\"]\n", "remote base"),
        ("resources: [github.com/o/r/base]\n", "remote base"),
        ("generators: [gen.yaml]\n", "generators is refused"),
        ("helmCharts: [{name: x}]\n", "helmCharts is refused"),
    ],
)
def test_kustomizations_may_not_reach_outside_the_repository_or_run_plugins(
    tmp_path: Path, kustomization: str, refusal: str
) -> None:
    tree = tmp_path / "tree"
    (tree / "app").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tree / "app" / "kustomization.yaml").write_text(kustomization)
    with pytest.raises(RenderError, match=refusal):
        check_references(tree / "app", tree)


def test_secrets_are_sealed_and_the_rest_stays_readable(tmp_path: Path) -> None:
    sealer = Sealer(key_file=tmp_path / "encryption.key")
    data = {"p": base64.b64encode(b"hunter2").decode()}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": data}
    record = {"step": 3, "objects": [secret, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]}
    sealed = sealer.seal(record)
    text = json.dumps(sealed)
    assert "aHVudGVyMg" not in text and "hunter2" not in text
    assert sealed["step"] == 3 and SEALED in sealed["objects"][0] and sealed["objects"][1]["kind"] == "ConfigMap"
    assert sealer.unseal(sealed) == record
    assert (tmp_path / "encryption.key").stat().st_mode & 0o077 == 0
    assert Sealer(key_file=tmp_path / "encryption.key").unseal(sealed) == record  # same key file, same key
    with pytest.raises(UnsealError, match="RECONCILER_ENCRYPTION_KEY"):
        Sealer(key="another key of at least thirty-two characters").unseal(sealed)
    with pytest.raises(ValueError, match="at least 32"):
        Sealer(key="short")


def test_api_answers_carry_no_url_user_info() -> None:
    body = {"repoURL": "https://u:tok@h/r", "manifest": {"spec": {"source": {"repoURL": "https://tok@h/r"}}}}
    assert "tok" not in json.dumps(redact_urls_in(body))
