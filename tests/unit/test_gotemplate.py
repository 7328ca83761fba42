"""Go templates as Argo CD's ApplicationSet controller renders them (applicationset/utils):
Go's text/template with Sprig, less env/expandenv/getHostByName, plus normalize and slugify,
and goTemplateOptions' missingkey=error. Run by Helm's real Go engine."""

from __future__ import annotations

import pytest

from reconciler.source.gotemplate import GoTemplateError, GoTemplateJob, render_go_template, render_go_templates


def render(text: str, data: dict | None = None, *, missingkey_error: bool = False) -> str:
    return render_go_template(text, data or {}, label="spec.name", missingkey_error=missingkey_error)


def test_dot_and_dollar_are_the_parameters():
    assert render("{{ .cluster.name }}/{{ $.cluster.server }}", {"cluster": {"name": "a", "server": "s"}}) == "a/s"


def test_sprig_functions_are_there():
    assert render('{{ .env | upper | replace "D" "d" }}-{{ list 1 2 | len }}', {"env": "dev"}) == "dEV-2"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Feature/ABC_x..", "feature-abc-x"),  # lower, invalid characters to '-', trim '-' and '.'
        ("-my.App-", "my.app"),
        ("a" * 300, "a" * 253),  # cut at 253 characters
    ],
)
def test_normalize_makes_a_dns_name(value: str, expected: str):
    assert render("{{ normalize .v }}", {"v": value}) == expected
    assert render("{{ .v | normalize }}", {"v": value}) == expected


@pytest.mark.parametrize(
    ("template", "value", "expected"),
    [
        ("{{ slugify .v }}", "Hello World.foo", "hello-world-foo"),
        # smart truncation cuts at the last '-' at or before the limit
        ("{{ .v | slugify 10 }}", "hello-world-foo-bar", "hello"),
        ("{{ slugify 10 true .v }}", "helloworldfoobar", "helloworld"),
        # without it, a hard cut at the limit
        ("{{ slugify 10 false .v }}", "hello-world-foo-bar", "hello-worl"),
        ("{{ .v | slugify 10 true | upper }}", "hello-world-foo-bar", "HELLO"),
    ],
)
def test_slugify_as_argo_cd_defines_it(template: str, value: str, expected: str):
    assert render(template, {"v": value}) == expected


def test_slugify_inside_a_condition_is_a_value_like_any_other():
    assert render('{{ if eq (slugify .v) "a-b" }}yes{{ end }}', {"v": "A B"}) == "yes"


@pytest.mark.parametrize("function", ["env", "expandenv", "getHostByName", "lookup"])
def test_functions_argo_cd_removes_are_refused(function: str):
    with pytest.raises(GoTemplateError, match=f'spec.name: function "{function}" not defined'):
        render(f'{{{{ {function} "x" }}}}')


def test_a_missing_key_prints_nothing_by_default():
    assert render("{{ .cluster.name }}-{{ .missing }}", {"cluster": {"name": "a"}}) == "a-"


@pytest.mark.parametrize(
    "template",
    ["{{ .missing }}", "{{ .cluster.nope }}", "{{ if .missing }}x{{ end }}", "{{ range .list }}{{ .m }}{{ end }}"],
)
def test_missingkey_error_fails_where_go_would(template: str):
    data = {"cluster": {"name": "a"}, "list": [{"n": 1}]}
    with pytest.raises(GoTemplateError, match=r'spec.name: map has no entry for key "\w+"'):
        render(template, data, missingkey_error=True)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ if .off }}on{{ else }}off{{ end }}", "off"),  # a present false value is read, not refused
        ("{{ $.empty }}|{{ .cluster.name }}", "|a"),
        ("{{ range $i, $e := .list }}{{ $e.n }}{{ end }}", "1"),
        ('{{ (index . "cluster").name }}', "a"),
    ],
)
def test_missingkey_error_reads_present_keys(template: str, expected: str):
    data = {"off": False, "empty": "", "cluster": {"name": "a"}, "list": [{"n": 1}]}
    assert render(template, data, missingkey_error=True) == expected


def test_go_errors_name_the_job_and_the_position():
    with pytest.raises(GoTemplateError, match=r"spec\.name: line 1: missing value for if"):
        render("{{ if }}")


def test_the_failing_job_of_a_batch_is_named():
    jobs = [GoTemplateJob("{{ .a }}", {"a": 1}, "first"), GoTemplateJob("{{ fail .why }}", {"why": "boom"}, "second")]
    with pytest.raises(GoTemplateError, match=r"^second: boom$"):
        render_go_templates(jobs)


def test_a_batch_keeps_each_result_apart_and_in_order():
    jobs = [GoTemplateJob("{{ .n }}\n---\n{{ .n }}: x", {"n": n}, f"job{n}") for n in range(50)]
    assert render_go_templates(jobs) == [f"{n}\n---\n{n}: x" for n in range(50)]


def test_text_outside_actions_and_comments_pass_unchanged():
    template = '{{/* a comment with .missing */}}{{- .a -}}  {{ printf "%s}}" .a }} {{ "{{" }}'
    assert render(template, {"a": "x"}, missingkey_error=True) == "xx}} {{"


def test_data_that_is_not_json_is_refused_by_name():
    with pytest.raises(GoTemplateError, match=r"spec\.name: the template's data is not plain JSON data"):
        render("{{ . }}", {"a": object()})


def test_a_template_that_allocates_without_bound_is_stopped_by_the_render_memory_limit(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("RECONCILER_RENDER_MEMORY_LIMIT", "64Mi")
    bomb = '{{ $x := "aaaaaaaa" }}{{ range until 40 }}{{ $x = print $x $x }}{{ end }}{{ len $x }}'
    with pytest.raises(GoTemplateError, match=r"^spec\.name: .*memory.*RECONCILER_RENDER_MEMORY_LIMIT"):
        render(bomb)
    assert render("{{ .a }}", {"a": "still renders"}) == "still renders"  # the engine is not lost


def test_a_template_that_never_ends_is_stopped_by_the_render_timeout(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RECONCILER_RENDER_TIMEOUT", "2")
    monkeypatch.setenv("RECONCILER_RENDER_CPU_SECONDS", "2")
    endless = "{{ range until 2000000000 }}{{ end }}"
    # `until` builds its list first: the memory limit may stop it before the clock does.
    stopped = (r"^spec\.name: go template was stopped: it "
               r"(used more than 2 s of CPU|ran longer than 2 s|needed more than 1 GiB of memory)")
    with pytest.raises(GoTemplateError, match=stopped):
        render(endless)
