"""Parsing and validation of Argo CD Application and AppProject manifests.

Defaults and retry semantics follow Argo CD (pkg/apis/application/v1alpha1/types.go
`RetryStrategy.NextRetryAt`, controller/appcontroller.go `autoSync`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from reconciler.model import (
    Application,
    AppProject,
    AutomatedPolicy,
    Backoff,
    GroupKind,
    ProjectDestination,
    RetryPolicy,
    SpecError,
    application_to_manifest,
    effective_retry,
    format_duration,
    load_file,
    parse_application,
    parse_duration,
    parse_manifests,
    parse_project,
    project_to_manifest,
    retry_delay,
    should_retry,
)

# The seed's two Applications, verbatim (/work/shared/seed-gitops-argocd.md).
SEED_ROOT = """\
# argocd/root.yaml
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: root
  namespace: argocd
  finalizers:
    - resources-finalizer.argocd.argoproj.io
spec:
  project: default
  source:
    repoURL: https://github.com/your-org/k8s-config
    targetRevision: HEAD
    path: argocd/apps
  destination:
    server: https://kubernetes.default.svc
    namespace: argocd
  syncPolicy:
    automated:
      prune: true # delete resources removed from Git
      selfHeal: true # revert manual changes
"""

SEED_API = """\
# argocd/apps/api.yaml
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: api
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/your-org/k8s-config
    targetRevision: HEAD
    path: apps/api
    helm:
      valueFiles:
        - values.yaml
        - values-prod.yaml
  destination:
    server: https://kubernetes.default.svc
    namespace: production
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - CreateNamespace=true
    retry:
      limit: 3
      backoff:
        duration: 5s
        maxDuration: 3m
        factor: 2
  ignoreDifferences:
    - group: apps
      kind: Deployment
      jsonPointers:
        - /spec/replicas # ignore HPA-managed replica counts
"""

TEAM_PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: team-a
  namespace: argocd
spec:
  description: Team A's services
  sourceRepos:
    - https://github.com/your-org/*
    - '!https://github.com/your-org/secrets'
  destinations:
    - server: https://kubernetes.default.svc
      namespace: team-a-*
    - name: staging
      namespace: '*'
  clusterResourceWhitelist:
    - group: ''
      kind: Namespace
  clusterResourceBlacklist:
    - group: rbac.authorization.k8s.io
      kind: '*'
  namespaceResourceWhitelist:
    - group: apps
      kind: Deployment
  namespaceResourceBlacklist:
    - group: ''
      kind: ResourceQuota
  description: Team A's applications
"""

MINIMAL = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "web"},
    "spec": {
        "source": {"repoURL": "https://github.com/your-org/k8s-config", "path": "apps/web"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
    },
}


def _app(**spec_changes: object) -> dict:
    """MINIMAL with top-level spec fields replaced (None removes one)."""
    doc = yaml.safe_load(yaml.safe_dump(MINIMAL))
    for key, value in spec_changes.items():
        if value is None:
            doc["spec"].pop(key, None)
        else:
            doc["spec"][key] = value
    return doc


Parser = Callable[[dict, str], "Application | AppProject"]


def _problems(doc: dict, parse: Parser = parse_application) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        parse(doc, "apps/web.yaml")
    return [(p.path, p.message) for p in caught.value.problems]


def _paths(doc: dict, parse: Parser = parse_application) -> list[str]:
    return [path for path, _ in _problems(doc, parse)]


def _one(text: str) -> Application:
    [app] = parse_manifests(text, "apps/web.yaml")
    assert isinstance(app, Application)
    return app


# --- the seed's manifests ---------------------------------------------------------


def test_seed_root_application_parses_automated_prune_and_self_heal() -> None:
    app = _one(SEED_ROOT)
    assert (app.name, app.namespace, app.project) == ("root", "argocd", "default")
    assert app.source.repo_url == "https://github.com/your-org/k8s-config"
    assert (app.source.path, app.source.target_revision) == ("argocd/apps", "HEAD")
    assert app.destination.server == "https://kubernetes.default.svc"
    assert app.destination.namespace == "argocd"
    assert app.sync_policy.automated == AutomatedPolicy(prune=True, self_heal=True)
    assert app.finalizers == ("resources-finalizer.argocd.argoproj.io",)


def test_seed_api_application_parses_helm_retry_and_ignore_differences() -> None:
    app = _one(SEED_API)
    assert app.source.helm is not None
    assert app.source.helm.value_files == ("values.yaml", "values-prod.yaml")
    assert app.source.kind == "Helm"
    assert app.sync_policy.option_enabled("CreateNamespace")
    assert app.sync_policy.retry == RetryPolicy(limit=3, backoff=Backoff(5.0, 2.0, 180.0))
    [ignore] = app.ignore_differences
    assert (ignore.group, ignore.kind, ignore.json_pointers) == ("apps", "Deployment", ("/spec/replicas",))


def test_parsed_application_remembers_its_source_file() -> None:
    assert _one(SEED_API).source_file == "apps/web.yaml"


# --- files and documents ------------------------------------------------------------


def test_multi_document_text_yields_every_object_in_file_order() -> None:
    objects = parse_manifests(f"{TEAM_PROJECT}---\n{SEED_ROOT}---\n{SEED_API}", "all.yaml")
    assert [type(o).__name__ for o in objects] == ["AppProject", "Application", "Application"]
    assert [o.name for o in objects] == ["team-a", "root", "api"]


def test_empty_documents_are_skipped() -> None:
    objects = parse_manifests(f"---\n---\n# nothing here\n---\n{SEED_ROOT}---\n", "apps.yaml")
    assert [o.name for o in objects] == ["root"]


def test_document_of_another_kind_is_a_problem_naming_its_index_and_kind() -> None:
    text = f"{SEED_ROOT}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
    with pytest.raises(SpecError) as caught:
        parse_manifests(text, "apps.yaml")
    [problem] = caught.value.problems
    assert "document 2" in problem.message
    assert '"ConfigMap"' in problem.message
    assert problem.line == SEED_ROOT.count("\n") + 3


def test_malformed_yaml_is_a_problem_with_the_line_of_the_mistake() -> None:
    with pytest.raises(SpecError) as caught:
        parse_manifests("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: [name: x\n", "bad.yaml")
    [problem] = caught.value.problems
    assert problem.file == "bad.yaml"
    assert problem.line == 4
    assert "not valid YAML" in problem.message


def test_document_that_expands_through_nested_aliases_is_refused() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    with pytest.raises(SpecError) as caught:
        parse_manifests("\n".join(levels) + "\n", "bomb.yaml")
    [problem] = caught.value.problems
    assert "nested YAML aliases" in problem.message


def test_problems_of_every_document_are_reported_together() -> None:
    broken_root = SEED_ROOT.replace("path: argocd/apps", "path: ''")
    broken_api = SEED_API.replace("duration: 5s", "duration: 5x")
    with pytest.raises(SpecError) as caught:
        parse_manifests(f"{broken_root}---\n{broken_api}", "apps.yaml")
    assert [p.path for p in caught.value.problems] == [
        "spec.source.path",
        "spec.syncPolicy.retry.backoff.duration",
    ]


def test_spec_error_prints_one_line_per_problem_with_file_line_and_field() -> None:
    text = SEED_API.replace("duration: 5s", "duration: 5x").replace("path: apps/api", "path: ''")
    with pytest.raises(SpecError) as caught:
        parse_manifests(text, "apps/api.yaml")
    lines = str(caught.value).splitlines()
    assert lines == [
        'apps/api.yaml:12: spec.source.path: required: a directory in the repository; use "." for the repository root',
        'apps/api.yaml:29: spec.syncPolicy.retry.backoff.duration: "5x" is not a duration like 5s, 3m, '
        "1h30m, 500ms (a bare whole number means seconds)",
    ]


def test_problem_without_a_known_line_prints_file_and_field() -> None:
    with pytest.raises(SpecError) as caught:
        parse_application(_app(source={"path": "apps/web"}), "apps/web.yaml")
    assert str(caught.value).startswith("apps/web.yaml: spec.source.repoURL: required")


def test_load_file_reads_the_file_and_names_it_in_problems(tmp_path: Path) -> None:
    good = tmp_path / "root.yaml"
    good.write_text(SEED_ROOT)
    assert load_file(good)[0].source_file == str(good)
    bad = tmp_path / "api.yaml"
    bad.write_text(SEED_API.replace("factor: 2", "factor: 0"))
    with pytest.raises(SpecError) as caught:
        load_file(bad)
    assert str(caught.value).startswith(f"{bad}:31: spec.syncPolicy.retry.backoff.factor:")


def test_load_file_of_a_missing_file_is_a_spec_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as caught:
        load_file(missing)
    assert str(caught.value) == f"{missing}: cannot read the file: No such file or directory"


# --- validation: one problem per mistake -------------------------------------------


def test_missing_name_is_a_problem() -> None:
    doc = _app()
    doc["metadata"] = {}
    assert _paths(doc) == ["metadata.name"]


def test_name_that_is_not_a_dns_subdomain_is_a_problem() -> None:
    doc = _app()
    doc["metadata"]["name"] = "Web_App"
    [(path, message)] = _problems(doc)
    assert path == "metadata.name"
    assert '"Web_App" is not a valid name' in message


def test_application_name_longer_than_a_label_value_is_a_problem() -> None:
    doc = _app()
    doc["metadata"]["name"] = "a" * 64
    [(path, message)] = _problems(doc)
    assert path == "metadata.name"
    assert "app.kubernetes.io/instance" in message


def test_wrong_api_version_is_a_problem() -> None:
    doc = _app()
    doc["apiVersion"] = "argoproj.io/v1beta1"
    [(path, message)] = _problems(doc)
    assert path == "apiVersion"
    assert "argoproj.io/v1alpha1" in message


def test_missing_repo_url_is_a_problem() -> None:
    assert _paths(_app(source={"path": "apps/web"})) == ["spec.source.repoURL"]


def test_missing_path_without_chart_is_a_problem() -> None:
    assert _paths(_app(source={"repoURL": "https://github.com/o/r"})) == ["spec.source.path"]


def test_dot_path_means_the_repository_root() -> None:
    app = parse_application(_app(source={"repoURL": "https://github.com/o/r", "path": "."}))
    assert app.source.path == "."


def test_chart_source_needs_no_path() -> None:
    source = {"repoURL": "https://charts.example.com", "chart": "redis", "targetRevision": "17.0.0"}
    app = parse_application(_app(source=source))
    assert (app.source.chart, app.source.path) == ("redis", "")


def test_path_that_leaves_the_repository_is_a_problem() -> None:
    source = {"repoURL": "https://github.com/o/r", "path": "apps/../../etc"}
    assert _paths(_app(source=source)) == ["spec.source.path"]


def test_multiple_sources_are_read_and_written_back_with_their_ref() -> None:
    from reconciler.model import application_to_manifest, parse_application

    sources = [
        {"repoURL": "https://github.com/o/charts", "path": "chart", "helm": {"valueFiles": ["$values/prod.yaml"]}},
        {"repoURL": "https://github.com/o/values", "targetRevision": "main", "ref": "values"},
    ]
    app = parse_application(_app(source=None, sources=sources))
    assert [s.repo_url for s in app.all_sources] == ["https://github.com/o/charts", "https://github.com/o/values"]
    assert app.sources[1].ref == "values" and not app.sources[1].renders
    assert application_to_manifest(app)["spec"]["sources"] == sources
    assert "source" not in application_to_manifest(app)["spec"]


def test_a_source_without_path_in_sources_is_a_problem_unless_it_is_a_ref() -> None:
    sources = [{"repoURL": "https://github.com/o/r", "path": "a"}, {"repoURL": "https://github.com/o/s"}]
    assert _paths(_app(source=None, sources=sources)) == ["spec.sources[1].path"]


def test_a_value_file_naming_an_unknown_ref_is_a_problem() -> None:
    sources = [{"repoURL": "https://github.com/o/r", "path": "a", "helm": {"valueFiles": ["$nope/v.yaml"]}}]
    assert _paths(_app(source=None, sources=sources)) == ["spec.sources[0].helm.valueFiles[0]"]


def test_missing_source_is_a_problem() -> None:
    assert _paths(_app(source=None)) == ["spec.source"]


def test_more_than_one_tool_in_a_source_is_a_problem() -> None:
    source = {"repoURL": "https://github.com/o/r", "path": "a", "helm": {}, "kustomize": {}}
    [(path, message)] = _problems(_app(source=source))
    assert path == "spec.source"
    assert "helm, kustomize" in message


def test_plugin_source_is_a_problem() -> None:
    source = {"repoURL": "https://github.com/o/r", "path": "a", "plugin": {"name": "cdk8s"}}
    assert _paths(_app(source=source)) == ["spec.source.plugin"]


def test_destination_with_both_server_and_name_is_a_problem() -> None:
    dest = {"server": "https://kubernetes.default.svc", "name": "in-cluster", "namespace": "web"}
    assert _paths(_app(destination=dest)) == ["spec.destination"]


def test_destination_without_server_or_name_is_a_problem() -> None:
    [(path, message)] = _problems(_app(destination={"namespace": "web"}))
    assert path == "spec.destination"
    assert "set server" in message


def test_destination_given_by_name_is_accepted() -> None:
    app = parse_application(_app(destination={"name": "in-cluster", "namespace": "web"}))
    assert (app.destination.name, app.destination.server) == ("in-cluster", "")


def test_invalid_destination_namespace_is_a_problem() -> None:
    dest = {"server": "https://kubernetes.default.svc", "namespace": "Web App"}
    assert _paths(_app(destination=dest)) == ["spec.destination.namespace"]


def test_unparsable_backoff_duration_is_a_problem_quoting_it() -> None:
    policy = {"retry": {"limit": 2, "backoff": {"duration": "5x"}}}
    [(path, message)] = _problems(_app(syncPolicy=policy))
    assert path == "spec.syncPolicy.retry.backoff.duration"
    assert message.startswith('"5x" is not a duration like 5s, 3m, 1h')


def test_unparsable_max_duration_is_a_problem() -> None:
    policy = {"retry": {"backoff": {"maxDuration": "three minutes"}}}
    assert _paths(_app(syncPolicy=policy)) == ["spec.syncPolicy.retry.backoff.maxDuration"]


def test_negative_duration_is_a_problem() -> None:
    policy = {"retry": {"backoff": {"duration": "-5s"}}}
    assert _paths(_app(syncPolicy=policy)) == ["spec.syncPolicy.retry.backoff.duration"]


def test_backoff_factor_below_one_is_a_problem() -> None:
    policy = {"retry": {"backoff": {"factor": 0}}}
    assert _paths(_app(syncPolicy=policy)) == ["spec.syncPolicy.retry.backoff.factor"]


def test_fractional_backoff_factor_is_a_problem_as_in_argo_cd() -> None:
    # Argo CD declares factor as int64; a manifest with 1.5 is refused there too.
    policy = {"retry": {"backoff": {"factor": 1.5}}}
    assert _paths(_app(syncPolicy=policy)) == ["spec.syncPolicy.retry.backoff.factor"]


def test_retry_limit_that_is_not_a_number_is_a_problem() -> None:
    assert _paths(_app(syncPolicy={"retry": {"limit": "five"}})) == ["spec.syncPolicy.retry.limit"]


def test_sync_option_without_equals_sign_is_a_problem() -> None:
    policy = {"syncOptions": ["CreateNamespace=true", "PruneLast"]}
    [(path, message)] = _problems(_app(syncPolicy=policy))
    assert path == "spec.syncPolicy.syncOptions[1]"
    assert "Name=value" in message


def test_ignore_differences_entry_without_kind_is_a_problem() -> None:
    entries = [{"group": "apps", "jsonPointers": ["/spec/replicas"]}]
    assert _paths(_app(ignoreDifferences=entries)) == ["spec.ignoreDifferences[0].kind"]


def test_json_pointer_without_leading_slash_is_a_problem() -> None:
    entries = [{"kind": "Deployment", "jsonPointers": ["/spec/replicas", "spec/template"]}]
    assert _paths(_app(ignoreDifferences=entries)) == ["spec.ignoreDifferences[0].jsonPointers[1]"]


def test_invalid_jq_path_expression_is_a_problem() -> None:
    entries = [{"kind": "Deployment", "jqPathExpressions": [".spec.template.spec.containers["]}]
    assert _paths(_app(ignoreDifferences=entries)) == ["spec.ignoreDifferences[0].jqPathExpressions[0]"]


def test_ignore_differences_entry_that_ignores_nothing_is_a_problem() -> None:
    assert _paths(_app(ignoreDifferences=[{"kind": "Deployment"}])) == ["spec.ignoreDifferences[0]"]


def test_helm_values_given_as_a_mapping_is_a_problem_pointing_to_values_object() -> None:
    source = {"repoURL": "https://github.com/o/r", "path": "chart", "helm": {"values": {"replicas": 2}}}
    [(path, message)] = _problems(_app(source=source))
    assert path == "spec.source.helm.values"
    assert "valuesObject" in message


def test_unquoted_helm_parameter_value_is_a_problem_that_does_not_echo_it() -> None:
    helm = {"parameters": [{"name": "db.password", "value": 7364519}]}
    source = {"repoURL": "https://github.com/o/r", "path": "chart", "helm": helm}
    [(path, message)] = _problems(_app(source=source))
    assert path == "spec.source.helm.parameters[0].value"
    assert "7364519" not in message
    assert "quotes" in message


# Lists of name/value items: each wrong item is reported at its own index, with what it must hold.
_REPO = "https://github.com/o/r"


def _source_with_list(list_path: str, items: list) -> dict:
    """An Application whose spec.source holds `items` at `list_path`, like spec.source.helm.parameters."""
    source: dict = {"repoURL": _REPO, "path": "p"}
    parent = source
    *sections, key = list_path.removeprefix("spec.source.").split(".")
    for section in sections:
        parent = parent.setdefault(section, {})
    parent[key] = items
    return _app(source=source)


@pytest.mark.parametrize(
    ("list_path", "fields"),
    [
        ("spec.source.helm.parameters", "name and value"),
        ("spec.source.helm.fileParameters", "name and path"),
        ("spec.source.directory.jsonnet.extVars", "name and value"),
        ("spec.source.directory.jsonnet.tlas", "name and value"),
    ],
)
def test_list_item_that_is_not_a_mapping_is_a_problem_naming_its_index_and_fields(list_path: str, fields: str) -> None:
    doc = _source_with_list(list_path, [{"name": "a", "value": "1", "path": "f"}, "b=2", 3])
    assert _problems(doc) == [
        (f"{list_path}[1]", f"must be a mapping with {fields}, found a string"),
        (f"{list_path}[2]", f"must be a mapping with {fields}, found a number"),
    ]


@pytest.mark.parametrize(
    ("list_path", "problem"),
    [
        ("spec.source.helm.parameters[1].name", "required: the Helm value to set, like image.tag"),
        (
            "spec.source.helm.fileParameters[1]",
            "needs name (the Helm value to set) and path (a file in the repository)",
        ),
        ("spec.source.directory.jsonnet.extVars[1].name", "required: the variable's name"),
        ("spec.source.directory.jsonnet.tlas[1].name", "required: the variable's name"),
    ],
)
def test_list_item_without_a_name_is_a_problem_naming_the_item(list_path: str, problem: str) -> None:
    list_field = list_path.split("[")[0]
    doc = _source_with_list(list_field, [{"name": "a", "value": "1", "path": "f"}, {"value": "2", "path": "g"}])
    assert _problems(doc) == [(list_path, problem)]


def test_problems_of_list_items_are_reported_in_document_order() -> None:
    doc = _source_with_list("spec.source.helm.parameters", ["a=1", {"value": "2"}, 3])
    assert _paths(doc) == [
        "spec.source.helm.parameters[0]",
        "spec.source.helm.parameters[1].name",
        "spec.source.helm.parameters[2]",
    ]


def test_ignore_differences_entry_that_is_not_a_mapping_is_a_problem() -> None:
    assert _problems(_app(ignoreDifferences=["Deployment"])) == [
        ("spec.ignoreDifferences[0]", "must be a mapping with group, kind and jsonPointers, found a string"),
    ]


def test_kustomize_replica_that_is_not_a_mapping_is_a_problem() -> None:
    source = {"repoURL": _REPO, "path": "k", "kustomize": {"replicas": ["web=3"]}}
    assert _problems(_app(source=source)) == [
        ("spec.source.kustomize.replicas[0]", "must be a mapping with name and count, found a string"),
    ]


def test_label_value_that_is_not_a_string_is_a_problem() -> None:
    doc = _app()
    doc["metadata"]["labels"] = {"team": "a", "tier": 1}
    assert _paths(doc) == ["metadata.labels.tier"]


def test_negative_revision_history_limit_is_a_problem() -> None:
    assert _paths(_app(revisionHistoryLimit=-1)) == ["spec.revisionHistoryLimit"]


def test_field_of_the_wrong_shape_is_a_problem_not_a_crash() -> None:
    assert _paths(_app(syncPolicy=["automated"])) == ["spec.syncPolicy"]


def test_every_mistake_in_one_manifest_is_reported_at_once() -> None:
    doc = _app(
        destination={"namespace": "web"},
        syncPolicy={"syncOptions": ["Bad"], "retry": {"backoff": {"duration": "soon"}}},
    )
    doc["metadata"]["name"] = "Bad Name"
    assert _paths(doc) == [
        "metadata.name",
        "spec.destination",
        "spec.syncPolicy.syncOptions[0]",
        "spec.syncPolicy.retry.backoff.duration",
    ]


# --- fields and defaults --------------------------------------------------------------


def test_defaults_match_argo_cd() -> None:
    app = parse_application(MINIMAL)
    assert app.project == "default"  # Argo CD: an empty project means "default"
    assert app.namespace == "argocd"
    assert app.source.target_revision == "HEAD"
    assert app.revision_history_limit == 10
    assert app.sync_policy.automated is None
    assert app.sync_policy.retry is None


def test_directory_source_fields_are_parsed() -> None:
    directory = {"recurse": True, "include": "{a.yaml,b.yaml}", "exclude": "test/*"}
    app = parse_application(_app(source={"repoURL": "https://github.com/o/r", "path": ".", "directory": directory}))
    assert app.source.directory is not None
    assert (app.source.directory.recurse, app.source.directory.include) == (True, "{a.yaml,b.yaml}")
    assert app.source.directory.exclude == "test/*"


def test_helm_source_fields_are_parsed() -> None:
    helm = {
        "valueFiles": ["values.yaml"],
        "values": "replicas: 2\n",
        "valuesObject": {"image": {"tag": "v1"}},
        "parameters": [{"name": "image.tag", "value": "v2", "forceString": True}],
        "releaseName": "web-release",
        "ignoreMissingValueFiles": True,
    }
    app = parse_application(_app(source={"repoURL": "https://github.com/o/r", "path": "chart", "helm": helm}))
    parsed = app.source.helm
    assert parsed is not None
    assert parsed.values == "replicas: 2\n"
    assert parsed.values_object == {"image": {"tag": "v1"}}
    assert [(p.name, p.value, p.force_string) for p in parsed.parameters] == [("image.tag", "v2", True)]
    assert (parsed.release_name, parsed.ignore_missing_value_files) == ("web-release", True)


def test_kustomize_source_fields_are_parsed() -> None:
    kustomize = {
        "namePrefix": "dev-",
        "nameSuffix": "-v1",
        "images": ["nginx=nginx:1.27"],
        "commonLabels": {"env": "dev"},
        "namespace": "web-dev",
    }
    app = parse_application(_app(source={"repoURL": "https://github.com/o/r", "path": "k", "kustomize": kustomize}))
    parsed = app.source.kustomize
    assert parsed is not None
    assert (parsed.name_prefix, parsed.name_suffix, parsed.namespace) == ("dev-", "-v1", "web-dev")
    assert parsed.images == ("nginx=nginx:1.27",)
    assert parsed.common_labels == {"env": "dev"}


def test_ignore_differences_fields_are_parsed() -> None:
    entry = {
        "group": "*",
        "kind": "Secret",
        "name": "tls",
        "namespace": "web",
        "jqPathExpressions": [".data.token"],
        "managedFieldsManagers": ["kube-controller-manager"],
    }
    [parsed] = parse_application(_app(ignoreDifferences=[entry])).ignore_differences
    assert (parsed.group, parsed.kind, parsed.name, parsed.namespace) == ("*", "Secret", "tls", "web")
    assert parsed.jq_path_expressions == (".data.token",)
    assert parsed.managed_fields_managers == ("kube-controller-manager",)


def test_metadata_labels_and_annotations_are_parsed() -> None:
    doc = _app()
    doc["metadata"]["labels"] = {"team": "a"}
    doc["metadata"]["annotations"] = {"notes": "owned by team a"}
    app = parse_application(doc)
    assert (app.labels, app.annotations) == ({"team": "a"}, {"notes": "owned by team a"})


def test_automated_with_no_value_leaves_automated_sync_off_as_in_argo_cd() -> None:
    assert parse_application(_app(syncPolicy={"automated": None})).sync_policy.automated is None


def test_empty_automated_block_turns_automated_sync_on() -> None:
    assert parse_application(_app(syncPolicy={"automated": {}})).sync_policy.automated == AutomatedPolicy()


def test_automated_enabled_false_turns_automated_sync_off() -> None:
    policy = {"automated": {"enabled": False, "prune": True}}
    assert parse_application(_app(syncPolicy=policy)).sync_policy.automated is None


def test_retry_block_without_backoff_uses_default_backoff() -> None:
    retry = parse_application(_app(syncPolicy={"retry": {"limit": 4}})).sync_policy.retry
    assert retry == RetryPolicy(limit=4, backoff=Backoff(duration_seconds=5.0, factor=2.0, max_duration_seconds=180.0))


def test_retry_block_without_limit_means_no_retries_as_in_argo_cd() -> None:
    retry = parse_application(_app(syncPolicy={"retry": {"backoff": {"duration": "10s"}}})).sync_policy.retry
    assert retry is not None
    assert retry.limit == 0
    assert not should_retry(retry, 0)


def test_bare_number_duration_means_seconds() -> None:
    retry = parse_application(_app(syncPolicy={"retry": {"backoff": {"duration": "7"}}})).sync_policy.retry
    assert retry is not None
    assert retry.backoff.duration_seconds == 7.0


# --- durations and retries -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5s", 5.0), ("3m", 180.0), ("1h30m", 5400.0), ("500ms", 0.5), ("1.5h", 5400.0), ("5", 5.0), (5, 5.0)],
)
def test_parse_duration_reads_go_durations_and_bare_seconds(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5x", "", "s", "5 s", "1h-30m", "5.5"])
def test_parse_duration_refuses_what_go_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(5, "5s"), (180, "3m"), (5400, "1h30m"), (0.5, "500ms"), (0, "0s")])
def test_format_duration_writes_the_shortest_go_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_automated_sync_without_retry_block_retries_five_times() -> None:
    app = parse_application(_app(syncPolicy={"automated": {"prune": True}}))
    assert effective_retry(app) == RetryPolicy(limit=5, backoff=Backoff())


def test_manual_sync_without_retry_block_does_not_retry() -> None:
    assert effective_retry(parse_application(MINIMAL)) is None


def test_retry_block_replaces_the_automated_default() -> None:
    assert effective_retry(_one(SEED_API)) == RetryPolicy(limit=3, backoff=Backoff(5.0, 2.0, 180.0))


def test_default_backoff_waits_5_10_20_40_80_seconds() -> None:
    policy = RetryPolicy()
    assert [retry_delay(policy, count) for count in range(5)] == [5, 10, 20, 40, 80]


def test_backoff_wait_is_capped_at_max_duration() -> None:
    assert [retry_delay(RetryPolicy(), count) for count in (5, 6, 30)] == [160, 180, 180]


def test_zero_max_duration_leaves_the_wait_uncapped_as_in_argo_cd() -> None:
    policy = RetryPolicy(backoff=Backoff(duration_seconds=5, factor=2, max_duration_seconds=0))
    assert retry_delay(policy, 8) == 1280


def test_negative_retry_limit_retries_forever() -> None:
    assert should_retry(RetryPolicy(limit=-1), 10_000)


def test_retry_limit_stops_retries_once_reached() -> None:
    assert [should_retry(RetryPolicy(limit=2), count) for count in range(3)] == [True, True, False]


# --- unknown fields and round trips ----------------------------------------------------


def test_unknown_spec_fields_are_kept_not_fatal() -> None:
    doc = _app(info=[{"name": "docs", "value": "https://wiki"}])
    app = parse_application(doc)
    assert app.manifest["spec"]["info"] == [{"name": "docs", "value": "https://wiki"}]
    assert application_to_manifest(app)["spec"]["info"] == [{"name": "docs", "value": "https://wiki"}]


def test_a_source_field_nothing_applies_is_refused_by_name() -> None:
    # A field of spec.source changes what is deployed: one that is not applied must not pass silently.
    doc = _app()
    doc["spec"]["source"]["plugin_like_future_field"] = {"x": 1}
    doc["spec"]["source"]["helm"] = {"valueFile": ["typo.yaml"]}
    assert sorted(_paths(doc)) == ["spec.source.helm.valueFile", "spec.source.plugin_like_future_field"]


@pytest.mark.parametrize("text", [SEED_ROOT, SEED_API])
def test_seed_manifest_round_trips_unchanged(text: str) -> None:
    assert application_to_manifest(_one(text)) == yaml.safe_load(text)


def test_changed_application_round_trips_through_its_manifest() -> None:
    app = _one(SEED_API)
    changed = dataclasses.replace(
        app,
        sync_policy=dataclasses.replace(
            app.sync_policy, automated=None, retry=RetryPolicy(limit=-1, backoff=Backoff(10, 3, 5400))
        ),
        revision_history_limit=3,
    )
    manifest = application_to_manifest(changed)
    assert "automated" not in manifest["spec"]["syncPolicy"]
    assert manifest["spec"]["syncPolicy"]["retry"] == {
        "limit": -1,
        "backoff": {"duration": "10s", "maxDuration": "1h30m", "factor": 3},
    }
    assert parse_application(manifest, "apps/web.yaml") == changed


def test_application_built_in_code_becomes_a_minimal_manifest() -> None:
    app = parse_application(MINIMAL)
    bare = dataclasses.replace(app, manifest={})
    assert application_to_manifest(bare) == MINIMAL


# --- AppProject ---------------------------------------------------------------------


def test_project_fields_are_parsed() -> None:
    [project] = parse_manifests(TEAM_PROJECT, "projects/team-a.yaml")
    assert isinstance(project, AppProject)
    assert project.source_repos == ("https://github.com/your-org/*", "!https://github.com/your-org/secrets")
    assert project.destinations == (
        ProjectDestination(server="https://kubernetes.default.svc", namespace="team-a-*"),
        ProjectDestination(name="staging", namespace="*"),
    )
    assert project.cluster_resource_whitelist == (GroupKind("", "Namespace"),)
    assert project.cluster_resource_blacklist == (GroupKind("rbac.authorization.k8s.io", "*"),)
    assert project.namespace_resource_whitelist == (GroupKind("apps", "Deployment"),)
    assert project.namespace_resource_blacklist == (GroupKind("", "ResourceQuota"),)
    assert project.manifest["spec"]["description"] == "Team A's applications"


def test_unsupported_sync_option_is_refused_at_create_naming_it() -> None:
    doc = {**MINIMAL, "spec": {**MINIMAL["spec"], "syncPolicy": {"syncOptions": ["ServerSideApply=maybe", "Foo=1"]}}}
    with pytest.raises(SpecError) as err:
        parse_manifests(yaml.safe_dump(doc), "app.yaml")
    message = str(err.value)
    assert "spec.syncPolicy.syncOptions[0]" in message and '"ServerSideApply=maybe" is not supported' in message
    assert "use ServerSideApply=false or true" in message
    assert "spec.syncPolicy.syncOptions[1]" in message and '"Foo" is not supported' in message


def test_sync_window_with_a_bad_schedule_zone_and_duration_names_each_field() -> None:
    text = TEAM_PROJECT + (
        "  syncWindows:\n"
        "    - {kind: deny, schedule: 'every night', duration: forever, timeZone: Mars/Base, applications: ['*']}\n"
    )
    with pytest.raises(SpecError) as err:
        parse_manifests(text, "projects/team-a.yaml")
    message = str(err.value)
    for field in ("spec.syncWindows[0].schedule", "spec.syncWindows[0].duration", "spec.syncWindows[0].timeZone"):
        assert field in message


def test_project_round_trips_with_unknown_fields_kept() -> None:
    [project] = parse_manifests(TEAM_PROJECT, "projects/team-a.yaml")
    assert project_to_manifest(project) == yaml.safe_load(TEAM_PROJECT)


def test_project_destination_without_server_or_name_is_a_problem() -> None:
    doc = yaml.safe_load(TEAM_PROJECT)
    doc["spec"]["destinations"].append({"namespace": "*"})
    assert _paths(doc, parse_project) == ["spec.destinations[2]"]


def test_project_resource_entry_without_kind_is_a_problem() -> None:
    doc = yaml.safe_load(TEAM_PROJECT)
    doc["spec"]["clusterResourceWhitelist"] = [{"group": "*"}]
    assert _paths(doc, parse_project) == ["spec.clusterResourceWhitelist[0].kind"]


def test_project_pattern_that_cannot_be_read_is_a_problem() -> None:
    doc = yaml.safe_load(TEAM_PROJECT)
    doc["spec"]["sourceRepos"] = ["https://github.com/your-org/{a,b"]
    [(path, message)] = _problems(doc, parse_project)
    assert path == "spec.sourceRepos[0]"
    assert "never closed" in message


def test_project_parsed_as_application_is_a_kind_problem() -> None:
    assert "kind" in _paths(yaml.safe_load(TEAM_PROJECT))


@pytest.mark.parametrize(
    ("section", "value", "path"),
    [
        ("helm", {"version": "v2"}, "spec.source.helm.version"),
        ("kustomize", {"version": "v5.4.0"}, "spec.source.kustomize.version"),
        ("helm", {"kubeVersion": "latest"}, "spec.source.helm.kubeVersion"),
        ("directory", {"jsonnet": {"libs": ["/etc"]}}, "spec.source.directory.jsonnet.libs[0]"),
    ],
)
def test_source_options_not_applied_here_are_refused_by_name(section: str, value: dict, path: str) -> None:
    doc = _app()
    doc["spec"]["source"][section] = value
    assert _paths(doc) == [path]


def test_source_and_sources_together_are_refused() -> None:
    doc = _app(sources=[{"repoURL": "https://github.com/o/r", "path": "a"}])
    assert _paths(doc) == ["spec.source"]


def test_a_chart_source_needs_a_helm_repository_and_a_version_constraint() -> None:
    doc = _app()
    doc["spec"]["source"] = {"repoURL": "git@github.com:o/r.git", "chart": "redis", "targetRevision": "not a version"}
    assert sorted(_paths(doc)) == ["spec.source.repoURL", "spec.source.targetRevision"]
