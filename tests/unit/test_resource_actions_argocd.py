"""Argo CD's own test table for its built-in resource actions (tests/unit/fixtures/argocd_actions:
each `action_test.yaml` of Argo CD's resource_customizations), run the way Argo CD's
util/lua/custom_actions_test.go runs it: discovery results must be among the listed ones; an
action's output, normalised as that test normalises it, must hold every field of the expected
output (gitops-engine's diff of the expected object against the result)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.engine.actions import ActionError, discover, find_actions, run
from reconciler.engine.diff.resource_diff import is_subset
from reconciler.engine.health.rules.configured import NONE
from reconciler.model.resources import split_api_version

ROOT = Path(__file__).resolve().parent / "fixtures" / "argocd_actions"
RESTARTED_AT = "0001-01-01T00:00:00Z"


def _cases(section: str) -> list[Any]:
    cases = []
    for table in sorted(ROOT.glob("*/*/action_test.yaml")):
        kind_dir = table.parent
        for case in yaml.safe_load(table.read_text()).get(section) or []:
            label = f"{kind_dir.parent.name}/{kind_dir.name}:{case.get('action', 'discovery')}:{case['inputPath']}"
            cases.append(pytest.param(kind_dir, case, id=label))
    return cases


class _JsonLikeLoader(yaml.SafeLoader):
    """YAML as a Kubernetes client reads it: timestamps stay strings (as in JSON)."""


_JsonLikeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_JsonLikeLoader)  # a SafeLoader


def _normalise(obj: dict[str, Any]) -> dict[str, Any]:
    """Argo CD's testNormalizer, and what gitops-engine's diff drops (nulls, server fields)."""
    obj = _without_nulls(copy.deepcopy(obj))
    kind = obj.get("kind")
    if kind == "Job":
        obj["metadata"] = {"name": "not sure why this works"}
    if kind in ("DaemonSet", "Deployment", "StatefulSet"):
        template_meta = obj.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
        template_meta["annotations"] = {"kubectl.kubernetes.io/restartedAt": RESTARTED_AT}
    if kind == "Deployment":
        obj.pop("status", None)
        obj.get("metadata", {}).pop("creationTimestamp", None)
        obj.get("metadata", {}).pop("generation", None)
    if kind == "Rollout":
        obj.get("spec", {}).pop("restartAt", None)
    for name in ("managedFields", "resourceVersion", "uid", "selfLink"):
        obj.get("metadata", {}).pop(name, None)
    obj.get("metadata", {}).get("annotations", {}).pop("kubectl.kubernetes.io/last-applied-configuration", None)
    return obj


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


@pytest.mark.parametrize(("kind_dir", "case"), _cases("discoveryTests"))
def test_discovery_offers_the_actions_argo_cd_lists(kind_dir: Path, case: dict[str, Any]) -> None:
    obj = _load(kind_dir / case["inputPath"])
    scripts = find_actions(NONE, split_api_version(obj["apiVersion"])[0], obj["kind"])
    assert scripts is not None
    expected = [{k: v for k, v in entry.items()} for entry in case["result"]]
    found = [action.as_dict() for action in discover(scripts, obj)]
    assert found, "discovery offered nothing"
    for action in found:
        assert action in expected


@pytest.mark.parametrize(("kind_dir", "case"), _cases("actionTests"))
def test_action_output_matches_argo_cds_expected_output(kind_dir: Path, case: dict[str, Any]) -> None:
    source = _load(kind_dir / case["inputPath"])
    scripts = find_actions(NONE, split_api_version(source["apiVersion"])[0], source["kind"])
    assert scripts is not None
    impacted = run(scripts, case["action"], copy.deepcopy(source), {k: str(v) for k, v in
                                                                    (case.get("parameters") or {}).items()})
    expected_raw = _load(kind_dir / case["expectedOutputPath"])
    expected = [e["unstructuredObj"] for e in expected_raw] if isinstance(expected_raw, list) else [expected_raw]
    assert impacted
    for item in impacted:
        result = item.resource
        if item.operation == "patch":  # Argo CD: a patch is of the source object only
            assert (result["kind"], result["metadata"]["name"]) == (source["kind"], source["metadata"]["name"])
        else:
            assert result["metadata"]["name"].startswith(source["metadata"]["name"] + "-")
        match = [e for e in expected if e["kind"] == result["kind"]]
        assert match, f"no expected output of kind {result['kind']}"
        assert is_subset(_normalise(match[0]), _normalise(result)), (
            f"{case['action']}: the result lacks or changes fields of {case['expectedOutputPath']}"
        )


def test_an_action_the_kind_does_not_have_is_refused_by_name() -> None:
    obj = _load(ROOT / "apps" / "Deployment" / "testdata" / "deployment.yaml")
    scripts = find_actions(NONE, "apps", "Deployment")
    assert scripts is not None
    with pytest.raises(ActionError, match=r"has no action .explode.*restart"):
        run(scripts, "explode", obj, {})


def test_scale_without_its_parameter_fails_with_the_scripts_message() -> None:
    obj = _load(ROOT / "apps" / "Deployment" / "testdata" / "deployment.yaml")
    scripts = find_actions(NONE, "apps", "Deployment")
    assert scripts is not None
    with pytest.raises(ActionError, match="replicas parameter is required"):
        run(scripts, "scale", obj, {})


def test_resume_removes_the_paused_field_and_restart_stamps_the_pod_template() -> None:
    paused = _load(ROOT / "apps" / "Deployment" / "testdata" / "deployment-pause.yaml")
    scripts = find_actions(NONE, "apps", "Deployment")
    assert scripts is not None
    resumed = run(scripts, "resume", paused, {})[0].resource
    assert "paused" not in resumed["spec"]
    restarted = run(scripts, "restart", paused, {})[0].resource
    stamp = restarted["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
    assert stamp.endswith("Z") and stamp != RESTARTED_AT
    assert restarted["spec"]["template"]["spec"]["securityContext"] == {}  # `{}` stays a map, not a list
