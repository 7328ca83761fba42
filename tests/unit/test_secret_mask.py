"""Secret values never leave the diff; masks show change without revealing length."""

from __future__ import annotations

import base64
from typing import Any

from reconciler.engine.diff.resource_diff import ResourceSyncStatus, diff_resource
from reconciler.engine.diff.secret_mask import LAST_APPLIED_ANNOTATION, mask_secret_pair
from reconciler.model.resources import ResourceKey

SECRET_KEY = ResourceKey("", "Secret", "demo", "db")
OLD_PASSWORD = "hunter2-old-password"
NEW_PASSWORD = "correct-horse-battery-staple"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "demo"},
        "type": "Opaque",
        "data": {name: b64(value) for name, value in data.items()},
    }


def everything_visible(diff: object) -> str:
    """All a caller could print of a diff: its repr holds every field, text included."""
    return repr(diff) + str(diff)


def test_changed_secret_value_shows_as_a_changed_line() -> None:
    diff = diff_resource(SECRET_KEY, secret(password=NEW_PASSWORD), secret(password=OLD_PASSWORD))

    assert diff.status is ResourceSyncStatus.OUT_OF_SYNC
    assert "-  password: ++++++++\n" in diff.text
    assert "+  password: ++++++++++++\n" in diff.text


def test_neither_old_nor_new_value_appears_anywhere_in_the_diff() -> None:
    diff = diff_resource(SECRET_KEY, secret(password=NEW_PASSWORD), secret(password=OLD_PASSWORD))

    visible = everything_visible(diff)
    for value in (OLD_PASSWORD, NEW_PASSWORD, b64(OLD_PASSWORD), b64(NEW_PASSWORD)):
        assert value not in visible


def test_mask_length_does_not_depend_on_value_length() -> None:
    diff = diff_resource(SECRET_KEY, None, secret(short="x", long="y" * 300))

    assert diff.live["data"] == {"short": "++++++++", "long": "++++++++"}  # type: ignore[index]


def test_same_value_under_two_keys_is_not_shown_as_equal() -> None:
    # Per-key numbering: equal and unequal values under different keys mask alike.
    same = diff_resource(SECRET_KEY, None, secret(a="v", b="v"))
    different = diff_resource(SECRET_KEY, None, secret(a="v", b="w"))

    assert same.live == different.live


def test_unchanged_secret_is_synced_with_no_text() -> None:
    diff = diff_resource(SECRET_KEY, secret(password=OLD_PASSWORD), secret(password=OLD_PASSWORD))

    assert diff.status is ResourceSyncStatus.SYNCED
    assert diff.text == ""
    assert diff.desired["data"] == diff.live["data"] == {"password": "++++++++"}  # type: ignore[index]


def test_string_data_in_git_matches_the_stored_data_and_stays_hidden() -> None:
    manifest = secret()
    del manifest["data"]
    manifest["stringData"] = {"password": OLD_PASSWORD}

    diff = diff_resource(SECRET_KEY, manifest, secret(password=OLD_PASSWORD), mode="subset")

    assert diff.status is ResourceSyncStatus.SYNCED
    assert OLD_PASSWORD not in everything_visible(diff)


def test_missing_secret_is_masked_too() -> None:
    diff = diff_resource(SECRET_KEY, secret(password=NEW_PASSWORD), None)

    assert diff.status is ResourceSyncStatus.MISSING
    assert b64(NEW_PASSWORD) not in everything_visible(diff)
    assert "password: ++++++++" in diff.text


def test_last_applied_annotation_is_masked_whole() -> None:
    live = secret(password=OLD_PASSWORD)
    live["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: f'{{"data":{{"password":"{b64(OLD_PASSWORD)}"}}}}'}

    _, masked_live = mask_secret_pair(SECRET_KEY, None, live)

    assert masked_live["metadata"]["annotations"][LAST_APPLIED_ANNOTATION] == "++++++++"  # type: ignore[index]


def test_last_applied_annotation_never_reaches_the_diff() -> None:
    live = secret(password=OLD_PASSWORD)
    live["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: f'{{"data":{{"password":"{b64(OLD_PASSWORD)}"}}}}'}

    diff = diff_resource(SECRET_KEY, secret(password=NEW_PASSWORD), live)

    assert b64(OLD_PASSWORD) not in everything_visible(diff)


def test_configmap_values_are_not_masked() -> None:
    key = ResourceKey("", "ConfigMap", "demo", "cfg")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "visible"}}

    assert diff_resource(key, None, cm).live["data"] == {"a": "visible"}  # type: ignore[index]


def test_masking_does_not_modify_its_arguments() -> None:
    live = secret(password=OLD_PASSWORD)

    mask_secret_pair(SECRET_KEY, None, live)

    assert live["data"]["password"] == b64(OLD_PASSWORD)
