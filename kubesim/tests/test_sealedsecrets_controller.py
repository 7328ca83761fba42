"""The simulated Sealed Secrets controller: a SealedSecret becomes the Secret of its template
(owned by it) and reports `Synced`, as bitnami-labs/sealed-secrets' controller does once it
unsealed one (https://github.com/bitnami-labs/sealed-secrets#sealedsecrets-as-templates-for-secrets).
kubesim holds no private key, so the values are a fixed placeholder, never the sealed text."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import yaml

from kubesim import KubeSim
from kubesim.tests.test_cluster_behaviour import conditions, eventually

SEED = Path(__file__).resolve().parents[2] / "examples" / "gitops-repo" / "infrastructure" / "sealed-secrets"
SEALED = "/apis/bitnami.com/v1alpha1/namespaces/infrastructure/sealedsecrets"


def _documents(name: str) -> dict:
    return yaml.safe_load((SEED / name).read_text())


def test_a_sealed_secret_becomes_its_secret_and_reports_synced() -> None:
    crd = next(p for p in SEED.iterdir() if "crd" in p.name.lower())
    sealed_file = next(p for p in SEED.iterdir() if p != crd)
    with KubeSim(controllers=True, ready_delay=0.1, crd_establish_delay=0.1) as sim, httpx.Client(
        base_url=sim.url, timeout=10
    ) as http:
        http.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": "infrastructure"}}).raise_for_status()
        http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                  json=_documents(crd.name)).raise_for_status()
        served = eventually(lambda: http.get(SEALED).status_code, lambda code: code == 200)
        assert served == 200
        sealed = _documents(sealed_file.name)
        http.post(SEALED, json=sealed).raise_for_status()
        name = sealed["metadata"]["name"]
        secret = eventually(lambda: http.get(f"/api/v1/namespaces/infrastructure/secrets/{name}"),
                            lambda r: r.status_code == 200)
        assert secret.status_code == 200
        data = secret.json()["data"]
        assert set(data) == set(sealed["spec"]["encryptedData"])
        assert {base64.b64decode(v) for v in data.values()} == {b"unsealed-by-kubesim"}
        assert secret.json()["metadata"]["ownerReferences"][0]["kind"] == "SealedSecret"
        status = eventually(lambda: http.get(f"{SEALED}/{name}").json(),
                            lambda obj: conditions(obj).get("Synced") == "True")
        assert conditions(status).get("Synced") == "True"
