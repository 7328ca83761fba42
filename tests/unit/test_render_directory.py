"""Directory sources: which files are read, how documents become objects, and the
errors that name the file at fault. Real files in a temporary repository tree."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from reconciler.core.globs import glob_match
from reconciler.model import Application, Destination, DirectorySource, Source
from reconciler.source.render import RenderError, render

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n"


def write(tree: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tree


def app(path: str = "manifests", directory: DirectorySource | None = None, namespace: str = "web") -> Application:
    return Application(
        name="guestbook",
        namespace="argocd",
        project="default",
        source=Source(repo_url="https://example.invalid/repo.git", path=path, directory=directory),
        destination=Destination(server="https://kubernetes.default.svc", namespace=namespace),
    )


def names(objects: list[dict]) -> list[str]:
    return [obj["metadata"]["name"] for obj in objects]


def test_reads_every_document_of_yaml_yml_and_json_files_in_file_name_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manifests/b.yml": CONFIGMAP.format(name="b1") + "---\n" + CONFIGMAP.format(name="b2"),
            "manifests/a.yaml": CONFIGMAP.format(name="a"),
            "manifests/c.json": json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            "manifests/README.md": "not a manifest",
        },
    )
    assert names(render(app(), tmp_path)) == ["a", "b1", "b2", "c"]


def test_skips_empty_and_comment_only_documents(tmp_path: Path) -> None:
    text = "---\n# only a comment\n---\n" + CONFIGMAP.format(name="one") + "---\n---\n# trailing\n"
    write(tmp_path, {"manifests/a.yaml": text})
    assert names(render(app(), tmp_path)) == ["one"]


def test_flattens_kind_list_and_typed_lists(tmp_path: Path) -> None:
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}} for n in ("x", "y")]
    listed = {"apiVersion": "v1", "kind": "List", "items": items}
    typed = {"apiVersion": "v1", "kind": "ConfigMapList", "items": [{**items[0], "metadata": {"name": "z"}}]}
    write(tmp_path, {"manifests/list.json": json.dumps(listed), "manifests/typed.yaml": json.dumps(typed)})
    assert names(render(app(), tmp_path)) == ["x", "y", "z"]


def test_does_not_read_subdirectories_without_recurse(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"manifests/a.yaml": CONFIGMAP.format(name="a"), "manifests/sub/b.yaml": CONFIGMAP.format(name="b")},
    )
    assert names(render(app(), tmp_path)) == ["a"]


def test_reads_subdirectories_with_recurse(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"manifests/a.yaml": CONFIGMAP.format(name="a"), "manifests/sub/b.yaml": CONFIGMAP.format(name="b")},
    )
    assert names(render(app(directory=DirectorySource(recurse=True)), tmp_path)) == ["a", "b"]


def test_recurse_skips_hidden_directories(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manifests/a.yaml": CONFIGMAP.format(name="a"),
            "manifests/.github/workflows/ci.yaml": "on: push\njobs: {}\n",
        },
    )
    assert names(render(app(directory=DirectorySource(recurse=True)), tmp_path)) == ["a"]


def test_include_glob_with_braces_matches_path_relative_to_source_path(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manifests/a.yaml": CONFIGMAP.format(name="a"),
            "manifests/b.yaml": CONFIGMAP.format(name="b"),
            "manifests/sub/c.yaml": CONFIGMAP.format(name="c"),
        },
    )
    options = DirectorySource(recurse=True, include="{a.yaml,sub/*}")
    assert names(render(app(directory=options), tmp_path)) == ["a", "c"]


def test_exclude_glob_star_crosses_directories_like_argo(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manifests/keep.yaml": CONFIGMAP.format(name="keep"),
            "manifests/dev/deep/skip.yaml": CONFIGMAP.format(name="skip"),
        },
    )
    options = DirectorySource(recurse=True, exclude="dev*")
    assert names(render(app(directory=options), tmp_path)) == ["keep"]


def test_non_kubernetes_yaml_names_the_file_and_document(tmp_path: Path) -> None:
    write(tmp_path, {"manifests/a.yaml": CONFIGMAP.format(name="a") + "---\nreplicaCount: 2\n"})
    with pytest.raises(RenderError) as caught:
        render(app(), tmp_path)
    assert caught.value.file == "manifests/a.yaml"
    assert "document 2" in caught.value.message
    assert "apiVersion" in caught.value.message


def test_excluded_non_kubernetes_yaml_is_not_an_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"manifests/a.yaml": CONFIGMAP.format(name="a"), "manifests/values.yaml": "replicaCount: 2\n"},
    )
    assert names(render(app(directory=DirectorySource(exclude="values.yaml")), tmp_path)) == ["a"]


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: [unclosed\n  j: v\n"
    write(tmp_path, {"manifests/bad.yaml": text})
    with pytest.raises(RenderError) as caught:
        render(app(), tmp_path)
    assert caught.value.file == "manifests/bad.yaml"
    assert caught.value.line is not None and caught.value.line >= 6
    assert str(caught.value).startswith(f"manifests/bad.yaml:{caught.value.line}: malformed YAML")


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, {"manifests/bad.json": '{\n  "apiVersion": "v1",\n  "kind": \n}\n'})
    with pytest.raises(RenderError) as caught:
        render(app(), tmp_path)
    assert (caught.value.file, caught.value.line) == ("manifests/bad.json", 4)


def test_object_without_name_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"manifests/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"})
    with pytest.raises(RenderError, match=r"has no metadata\.name"):
        render(app(), tmp_path)


def test_duplicate_objects_name_both_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manifests/a.yaml": CONFIGMAP.format(name="same"),
            "manifests/b.yaml": CONFIGMAP.format(name="same"),
        },
    )
    with pytest.raises(RenderError) as caught:
        render(app(), tmp_path)
    assert "manifests/a.yaml" in caught.value.message and "manifests/b.yaml" in caught.value.message


def test_object_without_namespace_and_same_object_in_destination_namespace_are_duplicates(
    tmp_path: Path,
) -> None:
    explicit = CONFIGMAP.format(name="same").replace("  name: same\n", "  name: same\n  namespace: web\n")
    write(tmp_path, {"manifests/a.yaml": CONFIGMAP.format(name="same"), "manifests/b.yaml": explicit})
    with pytest.raises(RenderError, match="defined twice"):
        render(app(), tmp_path)


def test_timestamps_stay_strings(tmp_path: Path) -> None:
    write(tmp_path, {"manifests/a.yaml": CONFIGMAP.format(name="a").replace("k: v", "date: 2024-01-31")})
    assert render(app(), tmp_path)[0]["data"]["date"] == "2024-01-31"


def test_yaml_anchors_do_not_share_data_between_objects(tmp_path: Path) -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: &shared {k: v}}\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}, data: *shared}\n"
    )
    write(tmp_path, {"manifests/a.yaml": text})
    objects = render(app(), tmp_path)
    objects[0]["data"]["k"] = "changed"
    assert objects[1]["data"]["k"] == "v"


@pytest.mark.parametrize("path", ["../outside", "/etc", "manifests/../../outside"])
def test_source_path_outside_the_repository_is_refused(tmp_path: Path, path: str) -> None:
    tree = write(tmp_path / "repo", {"manifests/a.yaml": CONFIGMAP.format(name="a")})
    write(tmp_path, {"outside/a.yaml": CONFIGMAP.format(name="x")})
    with pytest.raises(RenderError) as caught:
        render(app(path=path), tree)
    assert path in caught.value.message


def test_symlinked_source_path_resolving_outside_is_refused(tmp_path: Path) -> None:
    tree = write(tmp_path / "repo", {"manifests/a.yaml": CONFIGMAP.format(name="a")})
    write(tmp_path, {"outside/a.yaml": CONFIGMAP.format(name="x")})
    os.symlink(tmp_path / "outside", tree / "link")
    with pytest.raises(RenderError, match="outside the repository"):
        render(app(path="link"), tree)


def test_symlinked_file_resolving_outside_is_refused_and_named(tmp_path: Path) -> None:
    tree = write(tmp_path / "repo", {"manifests/a.yaml": CONFIGMAP.format(name="a")})
    write(tmp_path, {"secret.yaml": CONFIGMAP.format(name="x")})
    os.symlink(tmp_path / "secret.yaml", tree / "manifests" / "b.yaml")
    with pytest.raises(RenderError) as caught:
        render(app(), tree)
    assert caught.value.file == "manifests/b.yaml"


def test_missing_source_path_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="'nope' is not a directory"):
        render(app(path="nope"), tmp_path)


def test_rendering_twice_gives_identical_json(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manifests/z.yaml": CONFIGMAP.format(name="z") + "---\n" + CONFIGMAP.format(name="y"),
            "manifests/a.json": json.dumps({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s"}}),
            "manifests/sub/b.yaml": CONFIGMAP.format(name="b"),
        },
    )
    application = app(directory=DirectorySource(recurse=True))
    first = json.dumps(render(application, tmp_path))
    assert json.dumps(render(application, tmp_path)) == first


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("?.yaml", "a.yaml", True),
        ("?.yaml", "ab.yaml", False),
        ("[!b]*.yaml", "a.yaml", True),
        ("[!b]*.yaml", "b.yaml", False),
        ("{prod/{a,b}*,base/*.json}", "prod/b-1.yaml", True),
        ("{prod/{a,b}*,base/*.json}", "base/x.json", True),
        ("{prod/{a,b}*,base/*.json}", "prod/c.yaml", False),
        ("\\*.yaml", "*.yaml", True),
        ("\\*.yaml", "a.yaml", False),
    ],
)
def test_glob_matches_like_argo(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


def test_unclosed_brace_in_glob_is_an_error_naming_the_field(tmp_path: Path) -> None:
    write(tmp_path, {"manifests/a.yaml": CONFIGMAP.format(name="a")})
    with pytest.raises(RenderError, match=r"spec\.source\.directory\.include"):
        render(app(directory=DirectorySource(include="{a.yaml")), tmp_path)


def test_render_error_survives_pickling_with_file_and_line() -> None:
    error = pickle.loads(pickle.dumps(RenderError("bad value", file="apps/x.yaml", line=3)))
    assert (str(error), error.file, error.line) == ("apps/x.yaml:3: bad value", "apps/x.yaml", 3)
