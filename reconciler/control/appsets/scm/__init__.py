"""The Git hosting APIs the pull-request and SCM-provider generators read (GitHub and GitHub
Enterprise, GitLab, Gitea, Bitbucket Server), through one HTTP function (http.py) and one
token lookup (ScmAccess): a generator's `tokenRef` names a Secret in the set's namespace of
the cluster this system runs in, as Argo CD reads it; without one, the provider's
RECONCILER_APPSET_<PROVIDER>_TOKEN setting. Tokens are sent in headers only and never appear
in an error, a log or a status."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.control.appsets.scm.http import ScmError, get_json
from reconciler.settings import APPSET_TOKEN_VARIABLES as TOKEN_SETTINGS


@dataclass
class ScmAccess:
    """Tokens for the SCM generators of one set."""

    namespace: str
    # (namespace, Secret name) -> the Secret object, or None when it does not exist
    read_secret: Callable[[str, str], dict[str, Any] | None]
    settings_tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    get: Callable[..., tuple[Any, Mapping[str, str]]] = get_json

    def token(self, ref: Mapping[str, Any] | None, provider: str, where: str) -> str:
        if not ref:
            return self.settings_tokens.get(provider, "")
        name, key = str(ref.get("secretName", "")), str(ref.get("key", ""))
        if not name or not key:
            raise ScmError(f"{where}: tokenRef needs secretName and key")
        try:
            secret = self.read_secret(self.namespace, name)
        except Exception as exc:  # the cluster's error names the request, never the token
            raise ScmError(f"{where}: cannot read Secret {self.namespace}/{name}: {exc}") from None
        if secret is None:
            raise ScmError(f"{where}: Secret {self.namespace}/{name} (tokenRef) does not exist")
        if key in (secret.get("stringData") or {}):
            return str(secret["stringData"][key]).strip()
        raw = (secret.get("data") or {}).get(key)
        if raw is None:
            raise ScmError(f"{where}: Secret {self.namespace}/{name} has no key {key!r} (tokenRef.key)")
        return base64.b64decode(raw).decode("utf-8", "replace").strip()


__all__ = ["TOKEN_SETTINGS", "ScmAccess", "ScmError", "get_json"]
