"""What a Git files generator reads is the Git writer's: bounded before and while it is parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.control.appsets.context import GeneratorError
from reconciler.control.appsets.generators.git import MAX_FILES_BYTES, _check_files_size, _read_objects

WHERE = "spec.generators[0].git"


def test_files_past_the_size_limit_are_refused_before_any_is_read(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"name": "a"}')
    with (tmp_path / "b.json").open("w") as big:
        big.truncate(MAX_FILES_BYTES)
    _check_files_size(tmp_path, ["b.json"], WHERE)  # at the limit: fine
    with pytest.raises(GeneratorError, match=r"more than the limit of 8388608: match fewer or smaller files"):
        _check_files_size(tmp_path, ["a.json", "b.json"], WHERE)


def test_a_file_of_nested_anchors_is_refused_and_plain_files_read_as_before(tmp_path: Path) -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]" for p, c in zip("abcdefg", "bcdefgh", strict=True)]
    (tmp_path / "bomb.yaml").write_text("\n".join(levels) + "\n")
    with pytest.raises(GeneratorError, match=r"unable to process file 'bomb.yaml': document 1 expands to more"):
        _read_objects(tmp_path / "bomb.yaml", "bomb.yaml", WHERE)
    (tmp_path / "list.yaml").write_text("- {name: a}\n- {name: b}\n")
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    (tmp_path / "two.yaml").write_text("name: a\n---\nname: b\n")
    assert _read_objects(tmp_path / "list.yaml", "list.yaml", WHERE) == [{"name": "a"}, {"name": "b"}]
    assert _read_objects(tmp_path / "empty.yaml", "empty.yaml", WHERE) == [{}]
    with pytest.raises(GeneratorError, match="more than one YAML document"):
        _read_objects(tmp_path / "two.yaml", "two.yaml", WHERE)
