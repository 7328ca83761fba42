"""Helm sources rendered by the real Helm engine (helm-python-sdk), like `helm template`.

The fixture is the seed repository's layout: apps/api is a chart with values.yaml,
values-prod.yaml, two templates and a vendored subchart under charts/.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import helm_python
import pytest

from reconciler.model import Application, Destination, HelmParameter, HelmSource, Source
from reconciler.source.render import RenderError, render

CHART_YAML = "apiVersion: v2\nname: api\nversion: 0.1.0\nappVersion: '1.0'\n"
VALUES_YAML = """\
replicaCount: 1
image:
  repository: registry.example/api
  tag: "1.0.0"
  pullPolicy: IfNotPresent
service:
  port: 80
env:
  LOG_LEVEL: info
  FEATURE_X: "off"
hosts: [a.example, b.example]
flag: true
cache:
  enabled: true
"""
VALUES_PROD_YAML = 'replicaCount: 3\nimage:\n  tag: "2.4.1"\n'
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    app.kubernetes.io/name: api
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          env:
            {{- range $k, $v := .Values.env }}
            - name: {{ $k }}
              value: {{ $v | quote }}
            {{- end }}
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  annotations:
    hosts: {{ join "," .Values.hosts | quote }}
    flag-kind: {{ kindOf .Values.flag }}
    cache: {{ hasKey .Values "cache" | quote }}
    kube-version: {{ .Capabilities.KubeVersion.Version }}
    namespace: {{ .Release.Namespace }}
spec:
  ports:
    - port: {{ .Values.service.port }}
"""
SUBCHART_YAML = "apiVersion: v2\nname: redis\nversion: 0.2.0\n"
SUBCHART_VALUES = "maxMemory: 64mb\n"
SUBCHART_CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-redis
data:
  maxmemory: {{ .Values.maxMemory | quote }}
"""


def write(tree: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tree


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write(
        tmp_path / "repo",
        {
            "apps/api/Chart.yaml": CHART_YAML,
            "apps/api/values.yaml": VALUES_YAML,
            "apps/api/values-prod.yaml": VALUES_PROD_YAML,
            "apps/api/templates/deployment.yaml": DEPLOYMENT,
            "apps/api/templates/service.yaml": SERVICE,
            "apps/api/templates/NOTES.txt": "Thanks for installing {{ .Release.Name }}\n",
            "apps/api/templates/_helpers.tpl": '{{- define "api.name" -}}api{{- end -}}\n',
            "apps/api/charts/redis/Chart.yaml": SUBCHART_YAML,
            "apps/api/charts/redis/values.yaml": SUBCHART_VALUES,
            "apps/api/charts/redis/templates/configmap.yaml": SUBCHART_CONFIGMAP,
        },
    )


def app(helm: HelmSource | None = None, name: str = "api") -> Application:
    return Application(
        name=name,
        namespace="argocd",
        project="default",
        source=Source(repo_url="https://example.invalid/k8s-config.git", path="apps/api", helm=helm),
        destination=Destination(server="https://kubernetes.default.svc", namespace="production"),
    )


def prod(**changes: object) -> Application:
    return app(dataclasses.replace(HelmSource(value_files=("values.yaml", "values-prod.yaml")), **changes))


def by_kind(objects: list[dict], kind: str) -> dict:
    [found] = [o for o in objects if o["kind"] == kind]
    return found


def container(objects: list[dict]) -> dict:
    return by_kind(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def env(objects: list[dict]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(objects)["env"]}


def annotations(objects: list[dict]) -> dict[str, str]:
    return by_kind(objects, "Service")["metadata"]["annotations"]


def test_seed_chart_renders_with_prod_values_overriding_image_tag_and_replicas(repo: Path) -> None:
    objects = render(prod(), repo)
    assert sorted(o["kind"] for o in objects) == ["ConfigMap", "Deployment", "Service"]
    assert by_kind(objects, "Deployment")["spec"]["replicas"] == 3
    assert container(objects)["image"] == "registry.example/api:2.4.1"


def test_chart_is_detected_without_a_helm_block(repo: Path) -> None:
    objects = render(app(), repo)
    assert container(objects)["image"] == "registry.example/api:1.0.0"


def test_release_name_defaults_to_app_name_and_namespace_to_destination(repo: Path) -> None:
    objects = render(app(name="shop-api"), repo)
    deploy = by_kind(objects, "Deployment")
    assert deploy["metadata"]["name"] == "shop-api"
    assert deploy["metadata"]["namespace"] == "production"
    assert annotations(objects)["namespace"] == "production"


def test_release_name_comes_from_helm_release_name(repo: Path) -> None:
    objects = render(prod(release_name="custom"), repo)
    assert by_kind(objects, "Deployment")["metadata"]["name"] == "custom"
    assert by_kind(objects, "Deployment")["metadata"]["labels"]["app.kubernetes.io/instance"] == "api"


def test_invalid_release_name_is_an_error_naming_the_field(repo: Path) -> None:
    with pytest.raises(RenderError, match="releaseName"):
        render(prod(release_name="Not_Valid"), repo)


def test_vendored_subchart_directory_is_rendered_with_its_values(repo: Path) -> None:
    objects = render(prod(values_object={"redis": {"maxMemory": "128mb"}}), repo)
    assert by_kind(objects, "ConfigMap")["data"]["maxmemory"] == "128mb"


def test_vendored_subchart_archive_is_rendered(repo: Path, tmp_path: Path) -> None:
    subchart = repo / "apps/api/charts/redis"
    helm_python.package(subchart, destination=tmp_path)
    for path in sorted(subchart.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    subchart.rmdir()
    (tmp_path / "redis-0.2.0.tgz").rename(repo / "apps/api/charts/redis-0.2.0.tgz")
    assert by_kind(render(prod(), repo), "ConfigMap")["data"]["maxmemory"] == "64mb"


def test_later_value_file_wins_and_maps_merge_deeply(repo: Path) -> None:
    write(
        repo,
        {
            "apps/api/values-eu.yaml": "env:\n  LOG_LEVEL: debug\n",
            "apps/api/values-x.yaml": "env:\n  FEATURE_X: 'on'\n",
        },
    )
    objects = render(app(HelmSource(value_files=("values-eu.yaml", "values-x.yaml"))), repo)
    assert env(objects) == {"LOG_LEVEL": "debug", "FEATURE_X": "on"}


def test_value_file_replaces_lists_instead_of_merging_them(repo: Path) -> None:
    write(repo, {"apps/api/values-hosts.yaml": "hosts: [c.example]\n"})
    assert annotations(render(app(HelmSource(value_files=("values-hosts.yaml",))), repo))["hosts"] == "c.example"


def test_null_in_value_file_deletes_a_chart_default(repo: Path) -> None:
    write(repo, {"apps/api/values-nocache.yaml": "cache: null\n"})
    assert annotations(render(app(HelmSource(value_files=("values-nocache.yaml",))), repo))["cache"] == "false"


def test_values_string_overrides_value_files(repo: Path) -> None:
    objects = render(prod(values="image:\n  tag: from-values\n"), repo)
    assert container(objects)["image"] == "registry.example/api:from-values"


def test_values_object_overrides_value_files_and_replaces_values_string(repo: Path) -> None:
    objects = render(prod(values="replicaCount: 7\n", values_object={"image": {"tag": "from-object"}}), repo)
    assert container(objects)["image"] == "registry.example/api:from-object"
    assert by_kind(objects, "Deployment")["spec"]["replicas"] == 3


def test_parameters_override_values_object(repo: Path) -> None:
    parameters = (HelmParameter(name="image.tag", value="from-param"),)
    objects = render(prod(values_object={"image": {"tag": "from-object"}}, parameters=parameters), repo)
    assert container(objects)["image"] == "registry.example/api:from-param"


def test_parameter_is_typed_unless_force_string(repo: Path) -> None:
    typed = render(prod(parameters=(HelmParameter(name="flag", value="false"),)), repo)
    forced = render(prod(parameters=(HelmParameter(name="flag", value="false", force_string=True),)), repo)
    assert (annotations(typed)["flag-kind"], annotations(forced)["flag-kind"]) == ("bool", "string")


def test_parameter_value_with_commas_is_one_string(repo: Path) -> None:
    objects = render(prod(parameters=(HelmParameter(name="env.LOG_LEVEL", value="warn,error"),)), repo)
    assert env(objects)["LOG_LEVEL"] == "warn,error"


def test_indexed_parameter_changes_one_list_element_of_the_value_files(repo: Path) -> None:
    write(repo, {"apps/api/values-hosts.yaml": "hosts: [a.example, b.example, c.example]\n"})
    helm = HelmSource(
        value_files=("values-hosts.yaml",), parameters=(HelmParameter(name="hosts[1]", value="z.example"),)
    )
    assert annotations(render(app(helm), repo))["hosts"] == "a.example,z.example,c.example"


def test_missing_value_file_is_an_error_naming_it(repo: Path) -> None:
    with pytest.raises(RenderError) as caught:
        render(prod(value_files=("values.yaml", "values-staging.yaml")), repo)
    assert caught.value.file == "apps/api/values-staging.yaml"
    assert "ignoreMissingValueFiles" in caught.value.message


def test_missing_value_file_is_skipped_with_ignore_missing_value_files(repo: Path) -> None:
    helm = HelmSource(value_files=("values-staging.yaml", "values-prod.yaml"), ignore_missing_value_files=True)
    assert by_kind(render(app(helm), repo), "Deployment")["spec"]["replicas"] == 3


def test_value_file_naming_a_ref_no_source_has_is_refused_with_a_clear_message(repo: Path) -> None:
    with pytest.raises(RenderError, match=r"\$values/apps/api/values\.yaml.*no source of spec\.sources names"):
        render(prod(value_files=("$values/apps/api/values.yaml",)), repo)


def test_value_file_may_sit_elsewhere_in_the_repository(repo: Path) -> None:
    write(repo, {"envs/prod/api.yaml": "replicaCount: 5\n"})
    assert by_kind(render(prod(value_files=("../../envs/prod/api.yaml",)), repo), "Deployment")["spec"]["replicas"] == 5


def test_value_file_outside_the_repository_is_refused(repo: Path) -> None:
    write(repo.parent, {"stolen.yaml": "replicaCount: 9\n"})
    with pytest.raises(RenderError, match="outside the repository"):
        render(prod(value_files=("../../../stolen.yaml",)), repo)


def test_template_error_names_the_template_file_line_and_helm_message(repo: Path) -> None:
    template = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ required "set db.password" .Values.db }}\n'
    write(repo, {"apps/api/templates/secret.yaml": template})
    with pytest.raises(RenderError) as caught:
        render(prod(), repo)
    assert (caught.value.file, caught.value.line) == ("apps/api/templates/secret.yaml", 4)
    assert "set db.password" in caught.value.message
    assert str(caught.value).startswith("apps/api/templates/secret.yaml:4: ")


def test_template_output_that_is_not_kubernetes_names_the_template(repo: Path) -> None:
    write(repo, {"apps/api/templates/oops.yaml": "replicas: {{ .Values.replicaCount }}\n"})
    with pytest.raises(RenderError) as caught:
        render(prod(), repo)
    assert caught.value.file == "apps/api/templates/oops.yaml"


def test_test_hooks_are_left_out_and_other_hooks_kept(repo: Path) -> None:
    hook = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  annotations:\n    helm.sh/hook: {hook}\n"
    write(
        repo,
        {
            "apps/api/templates/test.yaml": hook.format(name="smoke", hook="test"),
            "apps/api/templates/migrate.yaml": hook.format(name="migrate", hook="pre-install,pre-upgrade"),
        },
    )
    assert [o["metadata"]["name"] for o in render(prod(), repo) if o["kind"] == "Pod"] == ["migrate"]


def test_chart_crds_are_included(repo: Path) -> None:
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n"
    )
    write(repo, {"apps/api/crds/widgets.yaml": crd})
    [found] = [o for o in render(prod(), repo) if o["kind"] == "CustomResourceDefinition"]
    assert "namespace" not in found["metadata"]


def test_templates_see_kubernetes_1_31(repo: Path) -> None:
    assert annotations(render(prod(), repo))["kube-version"].startswith("v1.31")


def test_repeated_renders_leave_no_native_handle_open(repo: Path) -> None:
    before = helm_python.open_handles_count()
    for _ in range(3):
        render(prod(), repo)
    with pytest.raises(RenderError):
        render(prod(value_files=("nope.yaml",)), repo)
    assert helm_python.open_handles_count() == before


def test_rendering_twice_gives_identical_json(repo: Path) -> None:
    assert json.dumps(render(prod(), repo)) == json.dumps(render(prod(), repo))


def test_helm_namespace_sets_release_namespace_while_objects_go_to_the_destination(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ns}\ndata: {release: '{{ .Release.Namespace }}'}\n"
    )
    source = Source(repo_url="https://x.invalid/r.git", path="chart", helm=HelmSource(namespace="elsewhere"))
    [cm] = render(dataclasses.replace(app(), source=source), tmp_path)
    assert cm["data"]["release"] == "elsewhere"
    assert cm["metadata"]["namespace"] == "production"
