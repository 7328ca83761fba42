"""The Sealed Secrets controller (bitnami-labs/sealed-secrets), as far as a cluster without
its private key can go: for each `SealedSecret` it writes the Secret its `spec.template`
describes, owned by the SealedSecret, and the `Synced` condition the real controller writes
once it has unsealed one. kubesim cannot decrypt `spec.encryptedData`, so each value of the
Secret is the fixed text "unsealed-by-kubesim" (never the sealed value): enough for tests and
the demo to follow the seed's "Option B: Sealed Secrets" flow end to end.

Only SealedSecrets whose CRD (`sealedsecrets.bitnami.com`) is installed exist at all, so this
controller does nothing on a cluster without it.
"""

from __future__ import annotations

import base64
from typing import Any

from kubesim.controllers.conditions import put
from kubesim.controllers.context import ControllerContext, owner_reference
from kubesim.storage.store import Obj

SEALED_SECRETS = ("bitnami.com", "sealedsecrets")
SECRETS = ("", "secrets")
PLACEHOLDER = base64.b64encode(b"unsealed-by-kubesim").decode()


def reconcile_sealedsecret(ctx: ControllerContext, sealed: Obj) -> float | None:
    m, spec = sealed["metadata"], sealed.get("spec") or {}
    if m.get("deletionTimestamp"):
        return None
    namespace = m.get("namespace", "")
    template: dict[str, Any] = spec.get("template") or {}
    template_meta = template.get("metadata") or {}
    if ctx.get(SECRETS, namespace, m["name"]) is None:
        secret: Obj = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": m["name"],
                "namespace": namespace,
                "labels": dict(template_meta.get("labels") or {}),
                "annotations": dict(template_meta.get("annotations") or {}),
                "ownerReferences": [owner_reference(sealed)],
            },
            "type": template.get("type") or "Opaque",
            "data": {key: PLACEHOLDER for key in (spec.get("encryptedData") or {})},
        }
        ctx.create(SECRETS, namespace, secret)
    old = sealed.get("status") or {}
    status = {
        **old,
        "observedGeneration": m.get("generation", 1),
        "conditions": put(old.get("conditions"), "Synced", "True"),
    }
    if old.get("observedGeneration") != status["observedGeneration"] or not old.get("conditions"):
        ctx.update_status(SEALED_SECRETS, sealed, status)
    return None
