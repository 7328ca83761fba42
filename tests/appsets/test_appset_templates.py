"""Rendering the template as Argo CD does: fasttemplate substitution by default (an unknown
parameter stays as written), Go text/template with Sprig under goTemplate (missingkey=error,
normalize, toYaml, templatePatch), every string rendered on its own, map keys too."""

from __future__ import annotations

import re
from typing import Any

import pytest

from reconciler.control.appsets.template import (
    RESOURCES_FINALIZER,
    Engine,
    TemplateError,
    fast_replace,
    render_applications,
    sanitize_name,
    slugify,
)
from reconciler.model.parse_appset import parse_appset
from tests.appsets.conftest import app_template, appset


def test_fasttemplate_replaces_string_parameters_and_leaves_unknown_tags_as_written() -> None:
    assert fast_replace("{{ cluster }}-{{missing}}-{{}}", {"cluster": "dev"}) == "dev-{{missing}}-{{}}"


def test_fasttemplate_does_not_substitute_parameters_that_are_not_strings() -> None:
    assert fast_replace("{{number}}", {"number": 3}) == "{{number}}"


def test_normalize_and_slug_follow_argo_cd() -> None:
    assert sanitize_name("-Feature_Branch/ONE.") == "feature-branch-one"
    assert slugify("feat/JIRA_123 add thing") == "feat-jira-123-add-thing"
    assert len(slugify("x" * 30 + "-" + "y" * 30)) <= 50


def render(spec: dict, params: list[dict]) -> list[dict]:
    set_ = parse_appset(spec)
    return render_applications(set_, [(p, set_.template) for p in params])


def test_default_mode_renders_every_string_and_map_key_of_the_template() -> None:
    template = app_template("{{cluster}}-guestbook", "guestbook/{{cluster}}", "guestbook")
    template["metadata"]["labels"] = {"team-{{cluster}}": "{{cluster}}"}
    [app] = render(appset("s", [{"list": {"elements": []}}], template), [{"cluster": "dev"}])
    assert app["metadata"]["name"] == "dev-guestbook"
    assert app["metadata"]["labels"] == {"team-dev": "dev"}
    assert app["spec"]["source"]["path"] == "guestbook/dev"


def test_go_template_mode_has_sprig_and_normalize() -> None:
    template = app_template("{{ .branch | normalize }}", "{{ .path.path | upper }}", '{{ default "x" .ns }}')
    spec = appset("s", [{"list": {"elements": []}}], template, goTemplate=True)
    [app] = render(spec, [{"branch": "Feature_1", "path": {"path": "apps/api"}}])
    assert (app["metadata"]["name"], app["spec"]["source"]["path"]) == ("feature-1", "APPS/API")
    assert app["spec"]["destination"]["namespace"] == "x"


def test_missingkey_error_names_the_field_that_used_a_missing_parameter() -> None:
    spec = appset(
        "s",
        [{"list": {"elements": []}}],
        app_template("{{.nope}}", "p", "n"),
        goTemplate=True,
        goTemplateOptions=["missingkey=error"],
    )
    with pytest.raises(TemplateError) as raised:
        render(spec, [{"cluster": "dev"}])
    assert "metadata.name" in str(raised.value) and "nope" in str(raised.value)


def test_template_patch_is_rendered_and_merged_over_each_application() -> None:
    patch = (
        "spec:\n  source:\n    helm:\n      valueFiles:\n      {{- range .files }}\n"
        "      - {{ . }}\n      {{- end }}\n{{- if .autoSync }}\n  syncPolicy:\n    automated: {prune: true}\n"
        "{{- end }}\n"
    )
    spec = appset(
        "s", [{"list": {"elements": []}}], app_template("{{.name}}", "p", "n"), goTemplate=True, templatePatch=patch
    )
    first, second = render(
        spec, [{"name": "a", "files": ["v1.yaml"], "autoSync": True}, {"name": "b", "files": [], "autoSync": False}]
    )
    assert first["spec"]["source"]["helm"]["valueFiles"] == ["v1.yaml"]
    assert first["spec"]["syncPolicy"] == {"automated": {"prune": True}}
    assert first["spec"]["source"]["path"] == "p" and "syncPolicy" not in second["spec"]


def test_the_resources_finalizer_is_added_unless_resources_are_preserved() -> None:
    template = app_template("{{name}}", "p", "n")
    [app] = render(appset("s", [{"list": {"elements": []}}], template), [{"name": "a"}])
    assert app["metadata"]["finalizers"] == [RESOURCES_FINALIZER]
    kept = appset("s", [{"list": {"elements": []}}], template, syncPolicy={"preserveResourcesOnDeletion": True})
    [app] = render(kept, [{"name": "a"}])
    assert "finalizers" not in app["metadata"]


def test_go_templates_of_many_apps_render_in_one_batch_with_each_apps_parameters() -> None:
    engine = Engine(go=True)
    out = engine.render_trees([{"a": "{{.i}}"}] * 300, [{"i": i} for i in range(300)], "set")
    assert [o["a"] for o in out] == [str(i) for i in range(300)]


def test_go_templates_have_helms_to_json_to_yaml_and_from_yaml() -> None:
    template = app_template(
        '{{ (fromYaml .settings).name }}', "{{ .labels | toJson | b64enc }}", "{{ .labels | toYaml | trim }}"
    )
    spec = appset("s", [{"list": {"elements": []}}], template, goTemplate=True)
    [app] = render(spec, [{"settings": "name: from-yaml\n", "labels": {"team": "a"}}])
    assert app["metadata"]["name"] == "from-yaml"
    assert app["spec"]["source"]["path"] == "eyJ0ZWFtIjoiYSJ9"  # base64 of {"team":"a"}
    assert app["spec"]["destination"]["namespace"] == "team: a"


def _list_preview(services: Any, generator: dict[str, Any], **spec: Any) -> list[dict[str, Any]]:
    from reconciler.control.appsets.actions import generate_preview

    return generate_preview(services, appset("s", [{"list": generator}], app_template(
        "{{cluster}}-app" if not spec else "{{.cluster}}-app", "p", "n"), **spec))  # fmt: skip


def test_elements_yaml_is_a_yaml_list_in_a_string_and_anything_else_is_named(services: Any) -> None:
    from reconciler.control.appsets.actions import GenerateFailed

    apps = _list_preview(services, {"elements": [{"cluster": "a"}], "elementsYaml": "- cluster: b\n- cluster: c\n"})
    assert [app["metadata"]["name"] for app in apps] == ["a-app", "b-app", "c-app"]
    go = _list_preview(services, {"elementsYaml": "- cluster: d\n  replicas: 3\n"}, goTemplate=True)
    assert [app["metadata"]["name"] for app in go] == ["d-app"]
    for text, named in (("cluster: x\n", "must be a YAML list of mappings"), ("- [unclosed\n", "is not YAML"),
                        ("- cluster: e\n  replicas: 3\n", "elementsYaml[0].replicas")):  # fmt: skip
        with pytest.raises(GenerateFailed, match=re.escape(named)):
            _list_preview(services, {"elementsYaml": text})
