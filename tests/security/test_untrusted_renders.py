"""Issue 22, case 3: whoever can push to one repository cannot take a worker or the API down through
what renders. Helm templates, Jsonnet and Kustomize trees that allocate or loop without end each get
a ComparisonError naming the limit and the file, while other apps go on syncing and the API answers.

One `reconciler up` (real worker processes, beat, the API) with small render limits; every attack is
a Git repository an app reads, and a refresh asked of the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import Up, answers, application, running_up, text_of, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# The task limit is set too: the render timeout is held to half of it, and a test session may
# have shortened it in this process's environment (tests/integration).
LIMITS = {
    "RECONCILER_RENDER_MEMORY_LIMIT": "64Mi",
    "RECONCILER_RENDER_TIMEOUT": "4",
    "RECONCILER_TASK_TIME_LIMIT": "60",
}

CHART = "apiVersion: v2\nname: bomb\nversion: 0.1.0\n"
# A string doubled 40 times: a terabyte, asked of Helm's Go engine.
ALLOCATES_WITHOUT_BOUND = """\
{{- $x := "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }}
{{- range until 40 }}{{ $x = print $x $x }}{{ end }}
apiVersion: v1
kind: ConfigMap
metadata: {name: big}
data: {size: {{ len $x | quote }}}
"""
# A trillion iterations over one small list, allocating nothing: only the clock stops them.
LOOPS_WITHOUT_END = """\
{{- $l := until 1000 }}
{{- range $l }}{{ range $l }}{{ range $l }}{{ range $l }}{{ end }}{{ end }}{{ end }}{{ end }}
apiVersion: v1
kind: ConfigMap
metadata: {name: never}
"""
JSONNET_ALLOCATES = """\
local double(s, n) = if n == 0 then s else double(s + s, n - 1);
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { k: double('x', 40) } }
"""
JSONNET_LOOPS = """\
local fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2);
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'slow' }, data: { k: std.toString(fib(60)) } }
"""


def configmap(name: str, value: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{v: {json.dumps(value)}}}\n"


def doubling_kustomization(depth: int, leaf: str) -> dict[str, str]:
    """Kustomize bases that each include the level below twice (with another name prefix): the app
    at the top holds 2^(depth+1) copies of `leaf`, from a handful of small files."""
    files = {"l0/kustomization.yaml": "resources: [cm.yaml]\n", "l0/cm.yaml": leaf}
    for level in range(1, depth + 1):
        below = ["../l0"] if level == 1 else [f"../l{level - 1}a", f"../l{level - 1}b"]
        for side in "ab":
            files[f"l{level}{side}/kustomization.yaml"] = f"namePrefix: {side}-\nresources: [{', '.join(below)}]\n"
    files["app/kustomization.yaml"] = f"resources: [../l{depth}a, ../l{depth}b]\n"
    return files


@pytest.fixture(scope="module")
def limited(module_kubesim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    with running_up(tmp_path_factory.mktemp("limited"), module_kubesim.url, LIMITS) as system:
        yield system


def stopped(up: Up, name: str, *words: str, any_of: tuple[str, ...] = ()) -> bool:
    text = text_of(up.app(name).get("conditions"))
    return (
        "ComparisonError" in text and all(word in text for word in words)
        and (not any_of or any(word in text for word in any_of))
    )


def wait_stopped(up: Up, name: str, *words: str, any_of: tuple[str, ...] = ()) -> None:
    """Wait for `name`'s ComparisonError holding every one of `words` and one of `any_of`; then
    deregister it, so its polls (again and again, with backoff) do not crowd out the next test's."""
    try:
        wait_for(lambda: stopped(up, name, *words, any_of=any_of), 90,
                 f"a condition on {name} naming {words} and one of {any_of}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; its conditions: {text_of(up.app(name).get('conditions'))!r}") from None
    with up.http() as http:
        assert http.delete(f"/api/v1/applications/{name}").status_code == 200


def configmap_value(kubesim: Any, namespace: str, name: str) -> str | None:
    obj = kubesim.api.get_object("v1", "ConfigMap", namespace, name)
    return None if obj is None else str((obj.get("data") or {}).get("v"))


def test_a_chart_that_allocates_without_bound_gets_a_condition_while_other_apps_sync_and_the_api_stays_up(
    limited: Up, module_kubesim: Any
) -> None:
    fine = limited.repo("fine", {"app/cm.yaml": configmap("fine", "one")})
    bomb = limited.repo("membomb", {"chart/Chart.yaml": CHART, "chart/templates/cm.yaml": ALLOCATES_WITHOUT_BOUND})
    assert limited.create(application("fine", fine.url, path="app")).status_code == 201
    assert limited.create(application("membomb", bomb.url, path="chart")).status_code == 201

    # A caller's refresh renders the chart: in a worker's sandbox, never in the API process.
    with limited.http() as http:
        diff = http.get("/api/v1/applications/membomb/diff", params={"refresh": "true"})
    assert diff.status_code == 200, diff.text
    assert "chart: helm template was stopped" in diff.text and "RECONCILER_RENDER_MEMORY_LIMIT" in diff.text
    assert answers(f"{limited.url}/readyz")
    # So do a dry-run sync and the resource view behind `app manifests`: each an answer naming the limit.
    with limited.http() as http:
        plan = http.post("/api/v1/applications/membomb/sync", json={"dryRun": True})
        view = http.get("/api/v1/applications/membomb/resource",
                        params={"kind": "ConfigMap", "namespace": "membomb", "resourceName": "big"})
    assert plan.status_code == 422 and "RECONCILER_RENDER_MEMORY_LIMIT" in plan.json()["error"], plan.text
    assert view.status_code >= 400 and "RECONCILER_RENDER_MEMORY_LIMIT" in view.json()["error"], view.text
    assert answers(f"{limited.url}/readyz")

    wait_for(lambda: stopped(limited, "membomb", "chart:", "64 MiB of memory", "RECONCILER_RENDER_MEMORY_LIMIT"),
             60, "the memory bomb's condition")
    wait_for(lambda: configmap_value(module_kubesim, "fine", "fine") == "one", 90, "the other app's first sync")
    fine.commit({"app/cm.yaml": configmap("fine", "two")})
    with limited.http() as http:  # a refresh after the push, as a webhook would ask for; the bomb's goes on too
        assert http.get("/api/v1/applications/membomb/diff", params={"refresh": "true"}).status_code == 200
        assert http.get("/api/v1/applications/fine/diff", params={"refresh": "true"}).status_code == 200
    wait_for(lambda: configmap_value(module_kubesim, "fine", "fine") == "two", 90,
             "the other app to sync a new commit while the bomb is polled again")
    assert stopped(limited, "membomb", "RECONCILER_RENDER_MEMORY_LIMIT")
    assert module_kubesim.api.get_object("v1", "ConfigMap", "membomb", "big") is None
    assert answers(f"{limited.url}/readyz")
    wait_stopped(limited, "membomb", "RECONCILER_RENDER_MEMORY_LIMIT")


def test_a_template_that_loops_without_end_is_stopped_by_the_wall_clock_limit(limited: Up) -> None:
    repo = limited.repo("loop", {"chart/Chart.yaml": CHART, "chart/templates/cm.yaml": LOOPS_WITHOUT_END})
    assert limited.create(application("loop", repo.url, path="chart")).status_code == 201
    wait_stopped(limited, "loop", "chart: helm template was stopped: it ran longer than 4 s",
                 "RECONCILER_RENDER_TIMEOUT")
    assert answers(f"{limited.url}/readyz")


@pytest.mark.parametrize(
    ("source", "limit"),
    [(JSONNET_ALLOCATES, "RECONCILER_RENDER_MEMORY_LIMIT"), (JSONNET_LOOPS, "RECONCILER_RENDER_TIMEOUT")],
    ids=["memory", "time"],
)
def test_jsonnet_that_allocates_or_loops_without_end_is_stopped_naming_the_limit_and_the_file(
    limited: Up, source: str, limit: str
) -> None:
    name = f"jsonnet-{'memory' if 'MEMORY' in limit else 'time'}"
    repo = limited.repo(name, {"app/main.jsonnet": source})
    assert limited.create(application(name, repo.url, path="app")).status_code == 201
    wait_stopped(limited, name, "app/main.jsonnet: jsonnet evaluation was stopped", limit)


def test_a_kustomize_tree_that_multiplies_without_end_is_stopped_by_the_memory_limit_naming_the_file(
    limited: Up,
) -> None:
    # 64 copies of a 4 MB ConfigMap, from a handful of small files: memory runs out within a second.
    repo = limited.repo("kustomize-memory", doubling_kustomization(5, configmap("c", "x" * 4_000_000)))
    assert limited.create(application("kustomize-memory", repo.url, path="app")).status_code == 201
    wait_stopped(limited, "kustomize-memory", "app/kustomization.yaml: kustomize build was stopped",
                 "64 MiB of memory", "RECONCILER_RENDER_MEMORY_LIMIT")


def test_a_kustomize_tree_that_multiplies_without_end_is_stopped_by_the_wall_clock_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 8,192 small copies: kustomize's work grows much faster than its memory. (Run here, with memory
    # to spare, so only the clock can stop it; the system above has a memory limit of 64 MiB.)
    from reconciler.source.render import RenderError
    from reconciler.source.render.kustomize import render_kustomize

    monkeypatch.setenv("RECONCILER_RENDER_MEMORY_LIMIT", "1Gi")
    monkeypatch.setenv("RECONCILER_RENDER_TIMEOUT", "3")
    monkeypatch.setenv("RECONCILER_TASK_TIME_LIMIT", "120")
    for name, text in doubling_kustomization(12, configmap("c", "x")).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    with pytest.raises(RenderError, match=r"ran longer than 3 s .*RECONCILER_RENDER_TIMEOUT") as caught:
        render_kustomize(tmp_path, tmp_path / "app", None)
    assert caught.value.file == "app/kustomization.yaml"


def test_a_template_past_its_cpu_time_is_stopped_naming_the_cpu_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.source.render import RenderError
    from reconciler.source.render.helm import render_helm

    monkeypatch.setenv("RECONCILER_RENDER_CPU_SECONDS", "1")
    monkeypatch.setenv("RECONCILER_RENDER_TIMEOUT", "60")
    monkeypatch.setenv("RECONCILER_TASK_TIME_LIMIT", "120")
    (tmp_path / "chart/templates").mkdir(parents=True)
    (tmp_path / "chart/Chart.yaml").write_text(CHART)
    (tmp_path / "chart/templates/cm.yaml").write_text(LOOPS_WITHOUT_END)
    with pytest.raises(RenderError, match=r"CPU time.*RECONCILER_RENDER_CPU_SECONDS") as caught:
        render_helm(tmp_path, tmp_path / "chart", None, release_name="cpu", namespace="default")
    assert caught.value.file == "chart"


def many_documents(count: int) -> str:
    """`count` small ConfigMaps in one YAML stream: megabytes from a few bytes of git history."""
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\ndata: {a: b, c: d, e: f}\n---\n"
    return "".join(doc % i for i in range(count))


def test_a_committed_manifest_file_too_big_to_parse_gives_a_condition_and_the_api_stays_up(limited: Up) -> None:
    # 100,000 documents: a few hundred kilobytes of git history, minutes of PyYAML in a worker.
    repo = limited.repo("zillion", {"app/zillion.yaml": many_documents(100_000)})
    assert limited.create(application("zillion", repo.url, path="app")).status_code == 201
    # Whichever limit it reaches first stops it: the 4 s on a busy machine, the 64 MiB on a quiet one.
    wait_stopped(limited, "zillion", "app/zillion.yaml: reading the manifests was stopped: it ",
                 any_of=("ran longer than 4 s", "needed more than 64 MiB of memory", "s of CPU time"))
    assert answers(f"{limited.url}/readyz")


def test_a_manifest_file_too_big_to_parse_in_time_is_stopped_naming_the_limit_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parsed in the worker, 50,000 documents held it for tens of seconds (minutes under load).
    from reconciler.source.render import RenderError
    from reconciler.source.render.directory import render_directory

    monkeypatch.setenv("RECONCILER_RENDER_TIMEOUT", "2")
    monkeypatch.setenv("RECONCILER_TASK_TIME_LIMIT", "120")
    (tmp_path / "app").mkdir()
    (tmp_path / "app/small.yaml").write_text(configmap("small", "x"))
    (tmp_path / "app/zillion.yaml").write_text(many_documents(50_000))
    with pytest.raises(RenderError, match=r"reading the manifests was stopped: it ran longer than 2 s") as caught:
        render_directory(tmp_path, tmp_path / "app", None)
    assert "RECONCILER_RENDER_TIMEOUT" in caught.value.message
    assert caught.value.file == "app/zillion.yaml"


def test_manifest_files_past_the_render_size_limit_are_refused_before_any_is_parsed(tmp_path: Path) -> None:
    from reconciler.source.render import RenderError
    from reconciler.source.render.limits import MAX_RENDER_BYTES
    from reconciler.source.render.parsing import parse_manifest_files

    (tmp_path / "app").mkdir()
    paths = [tmp_path / "app/a.yaml", tmp_path / "app/b.yaml"]
    paths[0].write_text(configmap("a", "x"))
    with paths[1].open("w") as big:
        big.truncate(MAX_RENDER_BYTES)  # not one byte of it is read
    with pytest.raises(RenderError, match=r"hold 64 MiB, more than the limit of 64 MiB") as caught:
        parse_manifest_files(tmp_path, paths)
    assert caught.value.file == "app/b.yaml"


def test_what_kustomize_wrote_is_parsed_under_the_render_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.source.render import RenderError
    from reconciler.source.render.parsing import parse_rendered_text

    monkeypatch.setenv("RECONCILER_RENDER_TIMEOUT", "2")
    monkeypatch.setenv("RECONCILER_TASK_TIME_LIMIT", "120")
    with pytest.raises(RenderError, match=r"reading kustomize's output was stopped: it ran longer than 2 s"):
        parse_rendered_text(many_documents(50_000), tool="kustomize", origin="app/kustomization.yaml")
    assert [m.obj["metadata"]["name"] for m in parse_rendered_text(many_documents(2), tool="kustomize",
                                                                 origin="app")] == ["c0", "c1"]


def test_jsonnet_that_writes_more_than_the_render_size_limit_is_refused_in_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.source.render import RenderError
    from reconciler.source.render.jsonnet import render_jsonnet_file

    monkeypatch.setenv("RECONCILER_RENDER_MEMORY_LIMIT", "2Gi")
    # Only the size may stop it: writing 64 MiB of JSON takes go-jsonnet a minute on a loaded machine.
    monkeypatch.setenv("RECONCILER_RENDER_TIMEOUT", "240")
    monkeypatch.setenv("RECONCILER_TASK_TIME_LIMIT", "600")
    # 64 MiB of output from two lines: refused before it is handed to the worker.
    (tmp_path / "main.jsonnet").write_text(
        "local double(s, n) = if n == 0 then s else double(s + s, n - 1);\n"
        "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { k: double('x', 26) } }\n"
    )
    with pytest.raises(RenderError, match=r"jsonnet evaluation rendered more than 67108864 bytes") as caught:
        render_jsonnet_file(tmp_path, tmp_path / "main.jsonnet", None)
    assert caught.value.file == "main.jsonnet"
