"""Reading an argocd-rbac-cm as Argo CD does, and refusing what it cannot use with the line named."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import yaml

from reconciler.api.access import control
from reconciler.control.access.enforcer import Asker, Enforcer
from reconciler.control.access.policy import PolicyError, load_rbac_config, parse_rbac_data
from reconciler.settings import Settings

RBAC_CM = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "argocd-rbac-cm", "namespace": "argocd"},
    "data": {
        "policy.csv": "p, role:team-a, applications, *, team-a/*, allow\ng, team-a, role:team-a\n",
        "policy.default": "role:readonly",
        "scopes": "[groups, email]",
    },
}


def test_a_whole_configmap_its_data_map_and_a_mounted_directory_read_alike(tmp_path: Path) -> None:
    whole = tmp_path / "argocd-rbac-cm.yaml"
    whole.write_text(yaml.safe_dump(RBAC_CM))
    data_only = tmp_path / "data.yaml"
    data_only.write_text(yaml.safe_dump(RBAC_CM["data"]))
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    (mounted / "..data").mkdir()  # the kubelet's own entries are skipped
    for key, value in RBAC_CM["data"].items():
        (mounted / key).write_text(value)
    configs = [load_rbac_config(path) for path in (whole, data_only, mounted)]
    assert {(c.default_role, c.scopes, tuple(r.values for r in c.rules)) for c in configs} == {
        (
            "role:readonly",
            ("groups", "email"),
            (("p", "role:team-a", "applications", "*", "team-a/*", "allow"), ("g", "team-a", "role:team-a")),
        )
    }


def test_extra_policy_keys_are_composed_after_policy_csv_in_key_order() -> None:
    config = parse_rbac_data(
        {"policy.B.csv": "g, b, role:x", "policy.csv": "g, main, role:x", "policy.A.csv": "g, a, role:x"}, "cm.yaml"
    )
    assert [rule.values[1] for rule in config.rules] == ["main", "a", "b"]
    assert config.rules[1].source == "cm.yaml policy.A.csv line 1"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("this, is, not, a, good, policy", '"this" is not a rule type'),
        ("p, alice, applications, get, */*", "a p line has five values"),
        ("p, alice, applications, get, */*, maybe", "the effect must be allow or deny"),
        ("g, alice", "a g line has two values"),
        ("p, alice, applications, get, team-a/[abc, allow", "is not a glob pattern"),
    ],
)
def test_a_line_that_cannot_be_used_is_refused_naming_key_and_line(line: str, says: str) -> None:
    text = f"# team policies\np, role:ok, applications, get, */*, allow\n{line}\n"
    with pytest.raises(PolicyError) as refused:
        parse_rbac_data({"policy.csv": text}, "/etc/rbac/argocd-rbac-cm.yaml")
    assert "/etc/rbac/argocd-rbac-cm.yaml policy.csv line 3" in str(refused.value)
    assert says in str(refused.value)


def test_regex_mode_reads_regular_expressions_and_refuses_broken_ones() -> None:
    config = parse_rbac_data(
        {"policy.matchMode": "regex", "policy.csv": r"p, alice, applications, (get|sync), ^team-(a|b)/.*$, allow"},
        "cm.yaml",
    )
    enforcer = Enforcer(config)
    assert enforcer.allows(Asker("alice"), "applications", "sync", "team-b/web", None)
    assert not enforcer.allows(Asker("alice"), "applications", "sync", "team-c/web", None)
    assert not enforcer.allows(Asker("alice"), "applications", "delete", "team-a/web", None)
    with pytest.raises(PolicyError, match=r"policy.csv line 1.*not a regular expression"):
        parse_rbac_data({"policy.matchMode": "regex", "policy.csv": "p, a, applications, get, team-(a, allow"}, "x")


def test_glob_mode_treats_slashes_as_plain_characters() -> None:
    # Argo CD's documentation: "/" is not a separator, so `delete/*/kind/*` also matches a kind named kind.
    config = parse_rbac_data({"policy.csv": "p, bob, applications, delete/*/Pod/*, default/*, allow"}, "cm.yaml")
    enforcer = Enforcer(config)
    assert enforcer.allows(Asker("bob"), "applications", "delete//Pod/prod/web-1", "default/app", None)
    assert enforcer.allows(Asker("bob"), "applications", "delete/apps/Deployment/Pod/x", "default/app", None)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"policy.matchMode": "regexp"}, "must be glob or regex"),
        ({"scopes": "{groups: 1}"}, "must be a claim name or a list"),
        ({"policy.defaults": "role:readonly"}, "'policy.defaults' is not an argocd-rbac-cm key"),
    ],
)
def test_settings_keys_are_checked(data: dict[str, str], says: str) -> None:
    with pytest.raises(PolicyError, match=says):
        parse_rbac_data(data, "cm.yaml")


def test_an_unreadable_file_is_a_policy_error_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"RECONCILER_RBAC_FILE.*cannot be read"):
        load_rbac_config(tmp_path / "missing.yaml")


def test_a_scope_may_be_a_single_claim_name() -> None:
    assert parse_rbac_data({"scopes": "email"}, "cm.yaml").scopes == ("email",)
    assert parse_rbac_data({}, "cm.yaml").scopes is None


def test_a_denial_names_the_deny_line_that_matched() -> None:
    config = parse_rbac_data(
        {"policy.csv": "p, role:dev, applications, *, */*, allow\np, role:dev, applications, delete, prod/*, deny\n"
         "g, devs, role:dev"},
        "/etc/rbac/cm.yaml",
    )
    decision = Enforcer(config).decide(Asker("carol", groups=("devs",)), "applications", "delete", "prod/db", None)
    assert not decision.allowed
    assert [rule.source for rule in decision.denied_by] == ["/etc/rbac/cm.yaml policy.csv line 2"]


def test_a_project_token_acts_only_inside_its_own_project() -> None:
    from reconciler.model import parse_manifests

    [team_a] = parse_manifests(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: team-a}\nspec:\n  roles:\n"
        "    - name: ci\n      policies: ['p, proj:team-a:ci, applications, *, team-a/*, allow']\n",
        "team-a.yaml",
    )
    header = "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\n"
    [team_b] = parse_manifests(header + "metadata: {name: team-b}\n", "b.yaml")
    enforcer = Enforcer(parse_rbac_data({"policy.default": "role:readonly"}, "cm.yaml"))
    token = Asker("proj:team-a:ci")
    assert enforcer.allows(token, "applications", "sync", "team-a/web", team_a)  # type: ignore[arg-type]
    # Argo CD's enforceProjectToken: another project's object is refused before any policy, default role included.
    assert not enforcer.allows(token, "applications", "get", "team-b/web", team_b)  # type: ignore[arg-type]


def test_a_changed_policy_file_is_read_again_and_a_broken_change_keeps_the_last_good_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(control, "RELOAD_CHECK_SECONDS", 0.0)
    mounted = tmp_path / "rbac"  # as the kubelet mounts a ConfigMap: a file per key
    mounted.mkdir()
    policy = mounted / "policy.csv"
    policy.write_text("p, alice, applications, sync, team-a/*, allow\n")
    access = control.AccessControl(dataclasses.replace(Settings(), rbac_file=str(mounted)))
    alice = Asker("alice")
    assert access.enforcer.allows(alice, "applications", "sync", "team-a/web", None)

    policy.write_text("p, alice, applications, sync, team-b/*, allow\n")
    os.utime(policy, ns=(1, 10**18))  # a new modification time, whatever the clock's resolution
    assert not access.enforcer.allows(alice, "applications", "sync", "team-a/web", None)
    assert access.enforcer.allows(alice, "applications", "sync", "team-b/web", None)

    policy.write_text("p, alice, applications, sync\n")
    os.utime(policy, ns=(1, 2 * 10**18))
    assert access.enforcer.allows(alice, "applications", "sync", "team-b/web", None)
    assert "policy.csv line 1" in caplog.text and "the previous one stays in force" in caplog.text
