"""ApplicationSet and cluster Secret manifests: what is accepted, and every field not handled
refused by name (with the file, the field path and the line)."""

from __future__ import annotations

import base64
import textwrap

import pytest

from reconciler.model import SpecError, parse_manifests
from reconciler.model.appset_types import ApplicationSet, ClusterSecret

GUESTBOOK = textwrap.dedent("""\
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata:
      name: guestbook
      namespace: argocd
    spec:
      goTemplate: true
      goTemplateOptions: ["missingkey=error"]
      generators:
      - list:
          elements:
          - cluster: engineering-dev
            url: https://1.2.3.4
      template:
        metadata:
          name: '{{.cluster}}-guestbook'
        spec:
          project: my-project
          source:
            repoURL: https://github.com/infra-team/cluster-deployments.git
            targetRevision: HEAD
            path: guestbook/{{.cluster}}
          destination:
            server: '{{.url}}'
            namespace: guestbook
    """)


def problems_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as raised:
        parse_manifests(text, "appset.yaml")
    return [str(p) for p in raised.value.problems]


def test_the_argo_cd_documentation_list_example_is_accepted_unchanged() -> None:
    [appset] = parse_manifests(GUESTBOOK, "appset.yaml")
    assert isinstance(appset, ApplicationSet)
    assert appset.go_template and appset.missingkey_error
    assert appset.generators[0]["list"]["elements"][0]["cluster"] == "engineering-dev"


def test_a_plugin_generator_is_refused_by_name() -> None:
    text = GUESTBOOK.replace("  - list:\n", "  - plugin:\n      configMapRef: {name: p}\n  - list:\n")
    assert any("spec.generators[0].plugin" in p and "not supported" in p for p in problems_of(text))


def test_an_unknown_generator_field_is_refused_with_its_path_and_line() -> None:
    text = GUESTBOOK.replace("      elements:\n", "      elementz: []\n      elements:\n")
    [problem] = problems_of(text)
    assert "appset.yaml:11" in problem and "spec.generators[0].list.elementz" in problem


def test_ignore_application_differences_is_refused_by_name() -> None:
    text = GUESTBOOK.replace("  goTemplate: true\n", "  goTemplate: true\n  ignoreApplicationDifferences: []\n")
    assert any("spec.ignoreApplicationDifferences" in p for p in problems_of(text))


def test_unknown_go_template_options_and_sync_policies_are_refused() -> None:
    text = GUESTBOOK.replace('["missingkey=error"]', '["missingkey=error", "funky"]').replace(
        "  generators:\n", "  syncPolicy:\n    applicationsSync: create-sometimes\n  generators:\n"
    )
    found = problems_of(text)
    assert any("spec.goTemplateOptions[1]" in p for p in found)
    assert any("spec.syncPolicy.applicationsSync" in p and "create-only" in p for p in found)


def test_a_matrix_needs_exactly_two_generators_and_nests_one_level() -> None:
    text = GUESTBOOK.replace(
        "  - list:\n      elements:\n      - cluster: engineering-dev\n        url: https://1.2.3.4\n",
        "  - matrix:\n      generators:\n      - matrix:\n          generators:\n"
        "          - matrix: {generators: [{list: {elements: []}}, {list: {elements: []}}]}\n"
        "          - list: {elements: []}\n",
    )
    found = problems_of(text)
    assert any("spec.generators[0].matrix.generators" in p and "exactly two" in p for p in found)
    assert any("nest one level" in p for p in found)


def test_unsupported_pull_request_providers_and_github_apps_are_refused_by_name() -> None:
    text = GUESTBOOK.replace(
        "  - list:\n      elements:\n      - cluster: engineering-dev\n        url: https://1.2.3.4\n",
        "  - pullRequest:\n      github: {owner: o, repo: r, appSecretName: app}\n"
        "  - pullRequest:\n      azuredevops: {organization: o}\n",
    )
    found = problems_of(text)
    assert any("spec.generators[0].pullRequest.github.appSecretName" in p for p in found)
    assert any("spec.generators[1].pullRequest.azuredevops" in p and "not supported" in p for p in found)


def test_rolling_sync_steps_are_read_with_max_update() -> None:
    strategy = (
        "  strategy:\n    type: RollingSync\n    rollingSync:\n      steps:\n"
        "      - matchExpressions: [{key: env, operator: In, values: [dev]}]\n"
        "      - matchExpressions: [{key: env, operator: In, values: [prod]}]\n        maxUpdate: 25%\n"
    )
    [appset] = parse_manifests(GUESTBOOK + strategy, "appset.yaml")
    assert appset.rolling_sync is not None and [s.max_update for s in appset.rolling_sync] == ["", "25%"]


def cluster_secret(data: dict[str, str], labels: str = "argocd.argoproj.io/secret-type: cluster") -> str:
    encoded = "\n".join(f"  {k}: {base64.b64encode(v.encode()).decode()}" for k, v in data.items())
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: prod-secret\n  namespace: argocd\n"
        f"  labels:\n    {labels}\n    env: prod\ntype: Opaque\ndata:\n{encoded}\n"
    )


def test_a_cluster_secret_is_read_from_base64_data() -> None:
    text = cluster_secret(
        {
            "name": "prod",
            "server": "https://prod.example.com",
            "config": '{"bearerToken": "s3cr3t", "tlsClientConfig": {"insecure": false}}',
        }
    )
    [cluster] = parse_manifests(text, "cluster.yaml")
    assert isinstance(cluster, ClusterSecret)
    assert (cluster.name, cluster.server, cluster.labels["env"]) == ("prod", "https://prod.example.com", "prod")
    assert "s3cr3t" not in repr(cluster)


def test_cluster_config_fields_not_handled_are_refused_without_echoing_credentials() -> None:
    text = cluster_secret(
        {
            "name": "prod",
            "server": "https://prod.example.com",
            "config": '{"bearerToken": "s3cr3t", "execProviderConfig": {"command": "x"}}',
        }
    )
    found = problems_of(text)
    assert any("config.execProviderConfig" in p for p in found)
    assert not any("s3cr3t" in p for p in found)


def test_a_secret_that_is_not_a_cluster_secret_does_not_belong_in_app_create() -> None:
    text = cluster_secret({"server": "https://x"}, labels="team: a")
    assert any("argocd.argoproj.io/secret-type: cluster" in p for p in problems_of(text))
