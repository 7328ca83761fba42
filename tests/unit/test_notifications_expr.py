"""Trigger conditions in expr-lang, checked against the language definition
(github.com/expr-lang/expr docs/language-definition.md) and Argo CD's notification docs."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.control.notifications.expr import ExprError, ExprRefused, compile_expression, go_format


def run(text: str, app: dict[str, Any] | None = None) -> Any:
    return compile_expression(text).run({"app": app or {}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 % 3", 1),
        ("-7 % 3", -1),  # Go's remainder keeps the dividend's sign
        ("2 ** 3", 8.0),
        ("2 ^ 3", 8.0),
        ("10 / 4", 2.5),
        ("1 < 2 and 2 < 3", True),
        ("1 > 2 || 2 > 1", True),
        ("not true", False),
        ("!false", True),
        ("'a' + \"b\"", "ab"),
        ("'Failed' in ['Error', 'Failed']", True),
        ("'Running' not in ['Error', 'Failed']", True),
        ("'abc' contains 'b'", True),
        ("'abc' startsWith 'a' and 'abc' endsWith 'c'", True),
        ("'v1.2.3' matches '^v[0-9]+'", True),
        ("1..3", [1, 2, 3]),
        ("nil ?? 'default'", "default"),
        ("true ? 'yes' : 'no'", "yes"),
        ("len([1, 2, 3])", 3),
        ("upper('x') + lower('Y')", "Xy"),
        ("{'a': 1}.a", 1),
        ("[1, 2, 3][-1]", 3),
        ("[1, 2, 3][1:]", [2, 3]),
        ("1 == 1.0", True),
        ("nil == nil", True),
        ("'1' == 1", False),
        ("1_000 + 0x10", 1016),
    ],
)
def test_operators_and_literals_follow_the_language_definition(text: str, expected: Any) -> None:
    assert run(text) == expected


def test_member_access_of_a_missing_field_is_nil_and_of_nil_is_an_error() -> None:
    app = {"status": {"sync": {"status": "Synced"}}}
    assert run("app.status.operationState", app) is None
    with pytest.raises(ExprError, match="cannot fetch phase from nil"):
        run("app.status.operationState.phase in ['Failed']", app)


def test_optional_chaining_makes_the_whole_chain_nil() -> None:
    assert run("app.status.operationState?.syncResult?.revision", {"status": {}}) is None
    assert run("app.status?.operationState.syncResult.revision", {}) is None
    app = {"status": {"operationState": {"syncResult": {"revision": "abc"}}}}
    assert run("app.status.operationState?.syncResult?.revision", app) == "abc"


def test_index_reads_annotations_with_dots_and_slashes() -> None:
    app = {"metadata": {"annotations": {"example.com/version": "v0.1"}}}
    assert run('app.metadata.annotations["example.com/version"]', app) == "v0.1"


def test_and_or_short_circuit_so_a_nil_check_guards_the_rest() -> None:
    assert run("app.status.operationState != nil and app.status.operationState.phase == 'x'", {"status": {}}) is False


def test_time_functions_of_the_argo_cd_docs() -> None:
    app = {"status": {"operationState": {"startedAt": "2020-01-01T00:00:00Z", "finishedAt": "2020-01-01T00:10:30Z"}}}
    state = "app.status.operationState"
    assert run(f"time.Now().Sub(time.Parse({state}.startedAt)).Minutes() >= 5", app) is True
    assert run(f"time.Parse({state}.finishedAt).Sub(time.Parse({state}.startedAt)).Minutes()", app) == 10.5
    assert run(f"time.Parse({state}.startedAt).Add(1 * time.Minute).Before(time.Parse({state}.finishedAt))", app)
    assert run(f"time.Parse({state}.finishedAt) - time.Parse({state}.startedAt) > 10 * time.Minute", app) is True
    assert run(f"time.Parse({state}.finishedAt) >= time.Parse({state}.startedAt)", app) is True
    assert run("time.Parse('2020-01-01T01:00:00+01:00').Equal(time.Parse('2020-01-01T00:00:00Z'))") is True
    assert run("time.Parse('2020-01-01T00:00:00Z').Unix()") == 1577836800


def test_time_parse_of_a_text_that_is_not_rfc3339_fails_the_condition() -> None:
    with pytest.raises(ExprError, match="RFC3339"):
        run("time.Parse('yesterday')")


def test_conditions_reading_the_clock_are_marked() -> None:
    assert compile_expression("time.Now().Unix() > 0").uses_now
    assert not compile_expression("app.status.health.status == 'Degraded'").uses_now


def test_argo_cd_string_and_repo_helpers() -> None:
    assert run("strings.ReplaceAll('a-b-c', '-', '.')") == "a.b.c"
    assert run("strings.ToUpper('ab') + strings.ToLower('CD')") == "ABcd"
    assert run("repo.RepoURLToHTTPS('git@github.com:argoproj/argo-cd.git')") == "https://github.com/argoproj/argo-cd.git"
    assert run("repo.FullNameByRepoURL('https://github.com/argoproj/argo-cd.git')") == "argoproj/argo-cd"
    assert run("repo.RepoURLToHTTPS('ssh://user@gitlab.com/group/project')") == "https://gitlab.com/group/project"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("foo(1)", "foo"),
        ("repo.GetCommitMetadata(app.status.sync.revision).Author == 'x'", "repo.GetCommitMetadata"),
        ("sync.GetInfoItem(app, 'x') == 'y'", "sync.GetInfoItem"),
        ("application.status", "application"),
        ("app.status.Foo()", "Foo"),
        ("time.Bogus", "time.Bogus"),
        ("all(app.status.resources, {.status == 'Synced'})", "syntax error"),
        ("app.status ==", "syntax error"),
    ],
)
def test_what_the_evaluator_cannot_run_is_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(ExprRefused, match=named.replace(".", r"\.").replace("(", r"\(")):
        compile_expression(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "<nil>"), ("abc", "abc"), (True, "true"), (3, "3"), (2.5, "2.5"), (["a", 1], "[a 1]")],
)
def test_once_per_values_are_formatted_as_go_formats_percent_v(value: Any, text: str) -> None:
    assert go_format(value) == text
