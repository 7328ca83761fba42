"""Where health checks come from: the argocd-cm file, then the resource_customizations
directory, then the built-in rules; `reconciler.health.assess` reads all three from the
environment.

fixtures/lua_checks/ is a small resource_customizations tree written for these tests:
exact directories, `_` wildcards for group and kind, a core-group kind, and Argo CD's
health_test.yaml/testdata beside a check (ignored).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from reconciler.engine.health.rules.configured import (
    customizations_for,
    system_ignore_resource_updates,
    with_system_ignore_differences,
)
from reconciler.engine.health.rules.customizations import CustomizationsFileError, parse_config_data
from reconciler.health import Health, HealthStatus, assess
from reconciler.model import ResourceIgnoreDifferences
from reconciler.settings import Settings

LUA_DIR = Path(__file__).parent / "fixtures" / "lua_checks"


def obj(api_version: str, kind: str, name: str = "x", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "ns"}, **extra}


def ready_certificate() -> dict[str, Any]:
    return obj(
        "cert-manager.io/v1",
        "Certificate",
        "tls",
        status={"conditions": [{"type": "Ready", "status": "True", "message": "Certificate is up to date"}]},
    )


@pytest.fixture
def use_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_RESOURCE_CUSTOMIZATIONS_DIR", str(LUA_DIR))
    monkeypatch.delenv("RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE", raising=False)


def write_config(tmp_path: Path, data: dict[str, str], *, as_configmap: bool = True) -> Path:
    import yaml

    document: dict[str, Any] = (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cm"}, "data": data}
        if as_configmap
        else data
    )
    path = tmp_path / "argocd-cm.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


# --- the directory ------------------------------------------------------------------------


@pytest.mark.usefixtures("use_dir")
def test_exact_directory_check_replaces_the_built_in_rule() -> None:
    assert assess(ready_certificate()) == Health(HealthStatus.Suspended, "directory check for Certificate tls")


@pytest.mark.usefixtures("use_dir")
@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("pkg.crossplane.io/v1", "Provider"), ("apiextensions.crossplane.io/v1", "Composition")],
)
def test_wildcard_group_and_kind_directory_matches_every_crossplane_group(api_version: str, kind: str) -> None:
    assert assess(obj(api_version, kind)) == Health(HealthStatus.Progressing, f"wildcard crossplane check for {kind}")


@pytest.mark.usefixtures("use_dir")
def test_wildcard_check_reads_the_object() -> None:
    provider = obj("pkg.crossplane.io/v1", "Provider", status={"conditions": [{"type": "Ready", "status": "True"}]})
    assert assess(provider).status is HealthStatus.Healthy


@pytest.mark.usefixtures("use_dir")
def test_wildcard_group_does_not_match_the_bare_domain() -> None:
    # `_.crossplane.io` is `*.crossplane.io`: a group that is exactly crossplane.io is not under it.
    assert assess(obj("crossplane.io/v1", "Thing")).message.startswith("no health check exists")


@pytest.mark.usefixtures("use_dir")
def test_exact_kind_directory_wins_over_the_wildcard_kind_of_the_same_group() -> None:
    assert assess(obj("example.com/v1", "Widget")) == Health(HealthStatus.Healthy, "exact directory check for Widget")
    assert assess(obj("example.com/v1", "Gadget")) == Health(
        HealthStatus.Degraded, "wildcard kind check for example.com/Gadget"
    )


@pytest.mark.usefixtures("use_dir")
def test_core_group_check_lives_in_a_directory_named_after_the_kind() -> None:
    config_map = obj("v1", "ConfigMap", data={"colour": "blue"})
    assert assess(config_map) == Health(HealthStatus.Healthy, "core ConfigMap check: blue")


@pytest.mark.usefixtures("use_dir")
def test_kinds_without_a_check_in_the_directory_keep_their_built_in_rule() -> None:
    pod = obj("v1", "Pod", spec={"restartPolicy": "Always"}, status={"phase": "Pending"})
    assert assess(pod).status is HealthStatus.Progressing


def test_a_missing_directory_makes_every_health_unknown_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RECONCILER_RESOURCE_CUSTOMIZATIONS_DIR", str(tmp_path / "nowhere"))
    health = assess(ready_certificate())
    assert health.status is HealthStatus.Unknown
    assert "RECONCILER_RESOURCE_CUSTOMIZATIONS_DIR" in health.message and "nowhere" in health.message


# --- the argocd-cm file and precedence -----------------------------------------------------------


WIDGET_FROM_CONFIG = 'return {status = "Suspended", message = "config file check for " .. obj.kind}'


@pytest.mark.usefixtures("use_dir")
def test_config_file_check_wins_over_the_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_config(tmp_path, {"resource.customizations.health.example.com_Widget": WIDGET_FROM_CONFIG})
    monkeypatch.setenv("RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE", str(path))
    assert assess(obj("example.com/v1", "Widget")) == Health(HealthStatus.Suspended, "config file check for Widget")
    # Kinds the file does not name still come from the directory.
    assert assess(obj("example.com/v1", "Gadget")).status is HealthStatus.Degraded


def test_config_file_check_wins_over_a_built_in_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = 'return {status = "Degraded", message = "replicas: " .. obj.spec.replicas}'
    path = write_config(tmp_path, {"resource.customizations.health.apps_Deployment": script})
    monkeypatch.setenv("RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE", str(path))
    deployment = obj("apps/v1", "Deployment", spec={"replicas": 3})
    assert assess(deployment) == Health(HealthStatus.Degraded, "replicas: 3")


def test_config_file_may_be_just_the_data_map(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_config(
        tmp_path, {"resource.customizations.health.example.com_Widget": WIDGET_FROM_CONFIG}, as_configmap=False
    )
    monkeypatch.setenv("RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE", str(path))
    assert assess(obj("example.com/v1", "Widget")).status is HealthStatus.Suspended


def test_config_may_be_a_mounted_configmap_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # As the kubelet mounts a ConfigMap: one file per key, plus its own dot-entries.
    mounted = tmp_path / "argocd-cm"
    (mounted / "..2024_05_02_10_00_00.123").mkdir(parents=True)
    (mounted / "resource.customizations.health.example.com_Widget").write_text(WIDGET_FROM_CONFIG)
    (mounted / "url").write_text("https://argocd.example.com")
    monkeypatch.setenv("RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE", str(mounted))
    assert assess(obj("example.com/v1", "Widget")) == Health(HealthStatus.Suspended, "config file check for Widget")


def test_config_file_wildcard_key_matches_after_exact_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A ConfigMap key cannot hold `/`, so wildcards are written in the single-key form.
    single = textwrap.dedent(
        """\
        "*.crossplane.io/*":
          health.lua: |
            return {status = "Progressing", message = "config wildcard"}
        pkg.crossplane.io/Provider:
          health.lua: |
            return {status = "Healthy", message = "config exact"}
        """
    )
    path = write_config(tmp_path, {"resource.customizations": single})
    monkeypatch.setenv("RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE", str(path))
    assert assess(obj("pkg.crossplane.io/v1", "Provider")) == Health(HealthStatus.Healthy, "config exact")
    assert assess(obj("nop.crossplane.io/v1", "NopResource")) == Health(HealthStatus.Progressing, "config wildcard")


def test_split_key_wins_over_the_single_key_for_the_same_kind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    single = 'example.com/Widget:\n  health.lua: return {status = "Degraded", message = "single"}\n'
    path = write_config(
        tmp_path,
        {
            "resource.customizations": single,
            "resource.customizations.health.example.com_Widget": WIDGET_FROM_CONFIG,
        },
    )
    monkeypatch.setenv("RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE", str(path))
    assert assess(obj("example.com/v1", "Widget")).status is HealthStatus.Suspended


def test_an_edited_config_file_is_read_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    path = write_config(tmp_path, {"resource.customizations.health.example.com_Widget": WIDGET_FROM_CONFIG})
    monkeypatch.setenv("RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE", str(path))
    assert assess(obj("example.com/v1", "Widget")).status is HealthStatus.Suspended
    write_config(tmp_path, {"resource.customizations.health.example.com_Widget": 'return {status = "Healthy"}'})
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert assess(obj("example.com/v1", "Widget")).status is HealthStatus.Healthy


def test_an_unreadable_config_file_makes_health_unknown_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "argocd-cm.yaml"
    path.write_text("data: [unclosed\n")
    monkeypatch.setenv("RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE", str(path))
    health = assess(obj("apps/v1", "Deployment"))
    assert health.status is HealthStatus.Unknown
    assert str(path) in health.message and "not valid YAML" in health.message


def test_the_example_configmap_loads_its_check_and_ignore_rules() -> None:
    example = Path(__file__).parents[2] / "examples" / "customizations" / "argocd-cm.yaml"
    customizations = customizations_for(Settings(resource_customizations_file=str(example)))
    assert customizations.health_script("kafka.strimzi.io", "KafkaTopic") is not None
    assert len(customizations.config.ignore_differences()) == 2


def test_other_argocd_cm_keys_are_ignored() -> None:
    parsed = parse_config_data(
        {
            "url": "https://argocd.example.com",
            "resource.customizations.useOpenLibs.example.com_Widget": "true",
            "resource.customizations.actions.example.com_Widget": "discovery.lua: ''",
            "resource.customizations.health.example.com_Widget": WIDGET_FROM_CONFIG,
        },
        "cm",
    )
    assert list(parsed.overrides) == ["example.com/Widget"]


def test_an_unsupported_customization_type_is_refused_by_name() -> None:
    with pytest.raises(CustomizationsFileError, match=r"resource\.customizations\.colour\.example\.com_Widget"):
        parse_config_data({"resource.customizations.colour.example.com_Widget": "red"}, "cm")


def test_a_group_kind_with_too_many_underscores_is_refused() -> None:
    with pytest.raises(CustomizationsFileError, match="<group>_<kind>"):
        parse_config_data({"resource.customizations.health.a_b_c": "return {}"}, "cm")


# --- system-level ignoreDifferences and ignoreResourceUpdates ---------------------------------------


def test_system_ignore_differences_come_before_the_apps_own(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        {
            "resource.customizations.ignoreDifferences.apps_Deployment": "jsonPointers:\n- /spec/replicas\n",
            "resource.customizations.ignoreDifferences.all": "managedFieldsManagers:\n- kube-controller-manager\n",
            "resource.customizations.ignoreDifferences.Service": "jqPathExpressions:\n- .spec.clusterIP\n",
        },
    )
    customizations = customizations_for(Settings(resource_customizations_file=str(path)))
    app_rule = ResourceIgnoreDifferences(group="apps", kind="Deployment", json_pointers=("/spec/template",))
    assert with_system_ignore_differences((app_rule,), customizations) == (
        ResourceIgnoreDifferences(group="*", kind="*", managed_fields_managers=("kube-controller-manager",)),
        ResourceIgnoreDifferences(group="", kind="Service", jq_path_expressions=(".spec.clusterIP",)),
        ResourceIgnoreDifferences(group="apps", kind="Deployment", json_pointers=("/spec/replicas",)),
        app_rule,
    )


def test_ignore_resource_updates_are_loaded(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, {"resource.customizations.ignoreResourceUpdates.argoproj.io_Application": "jsonPointers:\n- /status"}
    )
    customizations = customizations_for(Settings(resource_customizations_file=str(path)))
    assert system_ignore_resource_updates(customizations) == (
        ResourceIgnoreDifferences(group="argoproj.io", kind="Application", json_pointers=("/status",)),
    )


def test_without_configuration_the_app_rules_stand_alone() -> None:
    rule = ResourceIgnoreDifferences(kind="ConfigMap", json_pointers=("/data",))
    assert with_system_ignore_differences((rule,), customizations_for(Settings())) == (rule,)
