"""Request bodies kubesim cannot decode.

Behaviour taken from https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding:
custom resources accept no protobuf, and the server answers 415 naming the media types it accepts.
kubesim keeps no protobuf schemas at all, so it answers every protobuf body that way (the review
APIs excepted, whose few fields it decodes for `kubectl auth`).
"""

from __future__ import annotations

import httpx

from kubesim import KubeSim


def test_protobuf_body_of_a_stored_kind_is_415_not_a_json_error(kubesim: KubeSim) -> None:
    response = httpx.post(kubesim.url + "/api/v1/namespaces/default/configmaps", content=b"k8s\x00\x0a\x00",
                          headers={"Content-Type": "application/vnd.kubernetes.protobuf"})

    assert response.status_code == 415
    assert response.json()["message"] == ("the body of the request was in an unknown format - accepted media types "
                                          "include: application/json, application/yaml")
