"""The `verified` entries a compare keeps per object: what lets the next compare trust a live
object without a GET or a dry-run (engine/compare.py writes and reads them, the apply step
records them from the server's answer)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from reconciler.engine.live_view import content_hash, live_fingerprint, owned_fields, owned_fingerprint

# A `verified` entry "absent:<manifest hash>:<unix time>": the object did not exist and a dry-run
# accepted the manifest. A compare within ABSENT_TRUST_SECONDS takes it as Missing without a GET
# and a second dry-run (the apply that follows is the server's final word anyway); later, the
# server is asked again, so a long-missing object is re-validated on every poll as before.
ABSENT = "absent"
ABSENT_TRUST_SECONDS = 60.0
# A `verified` entry "owned:<owned fingerprint>:<manifest hash>": the object was Synced when this
# system's Apply entry held exactly the manifest's fields, so only those fields' values (and who
# owns them) can make it drift; other managers' writes (a controller's annotation) cannot.
# Otherwise "<live fingerprint>:<manifest hash>" vouches by the whole object.
OWNED = "owned"


def manifest_hash(obj: Mapping[str, Any]) -> str:
    return content_hash(obj)


def verified_mark(
    live: Mapping[str, Any], manifest: Mapping[str, Any], manager: str, applied: Mapping[str, Any] | None
) -> str:
    """The `verified` entry for a live object found Synced with `manifest`. `applied`: what a
    server-side apply of this manifest stored or would store (None for other modes). When its
    Apply entry names the same fields as the live one's, that entry holds exactly the manifest's
    fields, and the entry vouches by them alone (OWNED); otherwise by the whole object."""
    if applied is not None:
        fields = owned_fields(live, manager)
        if fields is not None and fields == owned_fields(applied, manager):
            return f"{OWNED}:{owned_fingerprint(live, manager)}:{manifest_hash(manifest)}"
    return f"{live_fingerprint(live)}:{manifest_hash(manifest)}"


def still_verified(entry: str | None, manifest: Mapping[str, Any], fingerprint: str, owned: str) -> bool:
    """The live object (its whole-object and owned-fields fingerprints) is as it was when `entry`
    was recorded for this very manifest."""
    if not entry:
        return False
    if entry.startswith(f"{OWNED}:"):
        return bool(owned) and entry == f"{OWNED}:{owned}:{manifest_hash(manifest)}"
    return entry == f"{fingerprint}:{manifest_hash(manifest)}"


def recently_found_absent(entry: str | None, manifest: Mapping[str, Any]) -> bool:
    """The object was not there, and the server accepted this very manifest in a dry-run, less
    than ABSENT_TRUST_SECONDS ago (an auto-sync right after the poll that found it missing)."""
    if not entry or not entry.startswith(f"{ABSENT}:"):
        return False
    _, hashed, at = entry.split(":", 2)
    try:
        age = time.time() - float(at)
    except ValueError:
        return False
    return hashed == manifest_hash(manifest) and 0 <= age < ABSENT_TRUST_SECONDS
