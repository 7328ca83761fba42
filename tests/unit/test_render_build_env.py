"""Argo CD's build environment ($ARGOCD_APP_NAME, $ARGOCD_APP_REVISION, ...) in source options,
rendered by the real tools (Helm engine, go-jsonnet, kustomize).

Where it applies is Argo CD's (docs: user-guide/build-environment.md, helm.md "Build
Environment"; reposerver/repository.go helmTemplate, getResolvedValueFiles, makeJsonnetVM;
util/kustomize Build): Helm parameters and value file paths, Kustomize images, commonLabels and
(with commonAnnotationsEnvsubst) commonAnnotations, Jsonnet extVars and TLAs; never Helm
`values` or `releaseName`. Its e2e tests (TestHelmSetEnv, TestHelmSetStringEnv,
TestJsonnetExtVarEnv, TestJsonnetTlaEnv) set `foo=$ARGOCD_APP_NAME` and read it back.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from reconciler.engine.pipeline import render_cache_key
from reconciler.model import (
    Application,
    Destination,
    DirectorySource,
    HelmFileParameter,
    HelmParameter,
    HelmSource,
    JsonnetOptions,
    JsonnetVar,
    KustomizeSource,
    Source,
)
from reconciler.source.render import Capabilities, RenderError, render
from reconciler.source.render.build_env import BuildEnvironment
from reconciler.source.render.kustomize import kustomize_command
from tests.unit.test_render_directory import write

REVISION = "f913b6cbf58aa5ae5ca1f8a2b149477aebcbd9d8"
CAPABILITIES = Capabilities(kube_version="v1.31.2+k3s1", api_versions=("apps/v1", "apps/v1/Deployment", "v1"))
CONFIG_MAP_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: my-map
data:
  foo: {{ .Values.foo | quote }}
  rev: {{ .Values.rev | quote }}
  kube: {{ .Values.kube | default "" | quote }}
  literal: {{ .Values.literal | default "" | quote }}
  fromFile: {{ .Values.fromFile | default "" | quote }}
"""


def application(source: Source, name: str = "shop", project: str = "team") -> Application:
    return Application(name=name, namespace="argocd", project=project, source=source,
                       destination=Destination(server="https://kubernetes.default.svc", namespace="prod"))


def by_name(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(obj for obj in objects if obj["metadata"]["name"] == name)


def helm_app(helm: HelmSource) -> Application:
    return application(Source(repo_url="https://git.example/shop.git", path="chart", target_revision="main",
                              helm=helm))


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    return write(tmp_path, {
        "chart/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
        "chart/templates/cm.yaml": CONFIG_MAP_TEMPLATE,
        "chart/values-shop.yaml": "rev: from-the-values-file\n",
        "chart/notes-shop.txt": "file for shop",
    })


def test_helm_parameters_and_string_parameters_see_the_build_environment(chart: Path) -> None:
    helm = HelmSource(parameters=(
        HelmParameter("foo", "$ARGOCD_APP_NAME"),
        HelmParameter("rev", "${ARGOCD_APP_REVISION_SHORT}-${ARGOCD_APP_REVISION_SHORT_8}", force_string=True),
        HelmParameter("kube", "$KUBE_VERSION/$ARGOCD_APP_NAMESPACE/$ARGOCD_APP_PROJECT_NAME"),
        HelmParameter("literal", "cost: $$5"),
    ))
    data = by_name(render(helm_app(helm), chart, capabilities=CAPABILITIES, revision=REVISION), "my-map")["data"]
    assert data["foo"] == "shop"
    assert data["rev"] == "f913b6c-f913b6cb"
    assert data["kube"] == "1.31.2/prod/team"
    assert data["literal"] == "cost: $5"


def test_helm_value_file_and_file_parameter_paths_see_the_build_environment(chart: Path) -> None:
    helm = HelmSource(value_files=("values-$ARGOCD_APP_NAME.yaml",),
                      file_parameters=(HelmFileParameter("fromFile", "notes-${ARGOCD_APP_NAME}.txt"),))
    data = by_name(render(helm_app(helm), chart, revision=REVISION), "my-map")["data"]
    assert data["rev"] == "from-the-values-file"
    assert data["fromFile"] == "file for shop"


def test_helm_values_and_release_name_are_not_substituted_as_in_argo_cd(chart: Path) -> None:
    helm = HelmSource(values="foo: $ARGOCD_APP_NAME\nrev: r\n")
    data = by_name(render(helm_app(helm), chart, revision=REVISION), "my-map")["data"]
    assert data["foo"] == "$ARGOCD_APP_NAME"


def test_an_unknown_variable_is_an_error_naming_the_field_and_saying_how_to_write_a_dollar(chart: Path) -> None:
    helm = HelmSource(parameters=(HelmParameter("foo", "pa$sword"),))
    with pytest.raises(RenderError) as err:
        render(helm_app(helm), chart, revision=REVISION)
    assert "spec.source.helm.parameters[0].value" in str(err.value)
    assert "$sword is not a build environment variable" in str(err.value)
    assert "$$" in str(err.value)


def test_expansion_follows_go_os_expand() -> None:
    env = BuildEnvironment({"A": "x", "B_2": "y"})
    assert env.substitute("$A-${B_2}-$$-$", "f") == "x-y-$-$"
    assert env.substitute("price: 5$ (or $ 6)", "f") == "price: 5$ (or $ 6)"
    assert env.substitute("${A}bc", "f") == "xbc"
    with pytest.raises(RenderError, match="not a variable reference"):
        env.substitute("${A", "f")


def test_jsonnet_ext_vars_and_tlas_see_the_build_environment(tmp_path: Path) -> None:
    write(tmp_path, {"app/main.jsonnet": """\
function(name) {
  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name },
  data: { foo: std.extVar('foo'), bar: std.extVar('bar'), url: std.extVar('url') },
}
"""})
    jsonnet = JsonnetOptions(
        ext_vars=(
            JsonnetVar("foo", "${ARGOCD_APP_NAME}"),
            JsonnetVar("bar", "'${ARGOCD_APP_NAME}'", code=True),
            JsonnetVar("url", "$ARGOCD_APP_SOURCE_REPO_URL#$ARGOCD_APP_SOURCE_PATH@$ARGOCD_APP_SOURCE_TARGET_REVISION"),
        ),
        tlas=(JsonnetVar("name", "$ARGOCD_APP_NAME-config"),),
    )
    source = Source(repo_url="https://git.example/shop.git", path="app", target_revision="main",
                    directory=DirectorySource(jsonnet=jsonnet))
    obj = by_name(render(application(source), tmp_path, revision=REVISION), "shop-config")
    assert obj["data"] == {"foo": "shop", "bar": "shop", "url": "https://git.example/shop.git#app@main"}


@pytest.mark.skipif(kustomize_command() is None, reason="neither kustomize nor kubectl is on PATH")
def test_kustomize_images_and_common_labels_see_the_build_environment_and_annotations_only_when_asked(
    tmp_path: Path,
) -> None:
    write(tmp_path, {
        "app/kustomization.yaml": "resources:\n- deployment.yaml\n",
        "app/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: registry.example/web:old}]}
""",
    })
    kustomize = KustomizeSource(
        images=("registry.example/web:${ARGOCD_APP_REVISION_SHORT}",),
        common_labels={"deployed-by": "$ARGOCD_APP_NAME"},
        common_annotations={"revision": "$ARGOCD_APP_REVISION"},
        name_prefix="p-",
    )
    source = Source(repo_url="https://git.example/shop.git", path="app", kustomize=kustomize)
    deployment = by_name(render(application(source), tmp_path, revision=REVISION), "p-web")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/web:f913b6c"
    assert deployment["metadata"]["labels"]["deployed-by"] == "shop"
    assert deployment["metadata"]["annotations"]["revision"] == "$ARGOCD_APP_REVISION"
    asked = dataclasses.replace(source, kustomize=dataclasses.replace(kustomize, common_annotations_envsubst=True))
    deployment = by_name(render(application(asked), tmp_path, revision=REVISION), "p-web")
    assert deployment["metadata"]["annotations"]["revision"] == REVISION


def test_the_render_cache_key_changes_with_every_input_of_the_build_environment() -> None:
    base = helm_app(HelmSource(parameters=(HelmParameter("foo", "$ARGOCD_APP_PROJECT_NAME"),)))
    key = render_cache_key(base, REVISION, CAPABILITIES)
    changed = [
        render_cache_key(base, "0" * 40, CAPABILITIES),
        render_cache_key(dataclasses.replace(base, project="other"), REVISION, CAPABILITIES),
        render_cache_key(dataclasses.replace(base, name="other"), REVISION, CAPABILITIES),
        render_cache_key(dataclasses.replace(base, destination=Destination(namespace="x")), REVISION, CAPABILITIES),
        render_cache_key(base, REVISION, dataclasses.replace(CAPABILITIES, kube_version="v1.32.0")),
        render_cache_key(base, REVISION, dataclasses.replace(CAPABILITIES, api_versions=("v1",))),
        render_cache_key(dataclasses.replace(base, source=dataclasses.replace(base.source, target_revision="dev")),
                         REVISION, CAPABILITIES),
    ]
    assert key not in changed and len(set(changed)) == len(changed)
