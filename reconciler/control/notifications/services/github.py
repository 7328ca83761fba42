"""`service.github`: commit statuses and deployments through GitHub's REST API (Argo CD's github
service), authenticated as a GitHub App (`appID`, `installationID`, `privateKey`) or, an
addition, with a `token`; `enterpriseBaseURL` for GitHub Enterprise (`<url>/api/v3`)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reconciler.control.notifications.expr.functions import full_name_by_repo_url
from reconciler.control.notifications.services.base import ConfigError, DeliveryError, Outgoing, check_keys
from reconciler.control.notifications.services.outbound import http_request
from reconciler.core.outbound import OutboundPolicy

TYPE = "github"
OPTIONS = frozenset({"appID", "installationID", "privateKey", "enterpriseBaseURL", "token"})
TEMPLATE_FIELDS = frozenset({"repoURLPath", "revisionPath", "status", "deployment"})
STATUS_FIELDS = frozenset({"state", "label", "targetURL"})
DEPLOYMENT_FIELDS = frozenset(
    {"state", "environment", "environmentURL", "logURL", "requiredContexts", "autoMerge", "transientEnvironment",
     "reference"}
)
DEFAULT_REPO_URL_PATH = "{{.app.spec.source.repoURL}}"
DEFAULT_REVISION_PATH = "{{.app.status.operationState.syncResult.revision}}"
DESCRIPTION_LIMIT = 140  # GitHub refuses longer status descriptions; Argo CD cuts them here too


def check(options: dict[str, Any], where: str) -> None:
    check_keys(options, OPTIONS, where)
    app_auth = [name for name in ("appID", "installationID", "privateKey") if options.get(name) not in (None, "")]
    if not options.get("token") and len(app_auth) != 3:
        raise ConfigError(f"{where}: set appID, installationID and privateKey (a GitHub App), or token")


def check_template(block: Any, where: str) -> None:
    block = check_keys(block, TEMPLATE_FIELDS, where)
    if block.get("status") is not None:
        check_keys(block["status"], STATUS_FIELDS, f"{where}.status", required=("state", "label"))
    if block.get("deployment") is not None:
        check_keys(block["deployment"], DEPLOYMENT_FIELDS, f"{where}.deployment", required=("state", "environment"))


def api_base(options: dict[str, Any]) -> str:
    enterprise = str(options.get("enterpriseBaseURL") or "").rstrip("/")
    if not enterprise:
        return "https://api.github.com"
    return enterprise if enterprise.endswith("/api/v3") else enterprise + "/api/v3"


def send(options: dict[str, Any], outgoing: Outgoing, policy: OutboundPolicy) -> None:
    block = outgoing.block
    repo = full_name_by_repo_url(str(block.get("repoURLPath") or ""))
    revision = str(block.get("revisionPath") or "")
    if repo.count("/") != 1 or not revision:
        raise DeliveryError(
            f"github {outgoing.service}: repository {repo!r} or revision {revision!r} is empty or not owner/name; "
            "set github.repoURLPath and github.revisionPath in the template",
            retryable=False,
        )
    base = api_base(options)
    headers = {
        "Authorization": f"token {_token(options, base, policy)}",
        "Accept": "application/vnd.github+json",
        "Content-Type": "application/json",
    }
    if block.get("status"):
        status = block["status"]
        body = {
            "state": status.get("state"),
            "context": status.get("label"),
            "target_url": status.get("targetURL") or None,
            "description": outgoing.message.strip()[:DESCRIPTION_LIMIT],
        }
        http_request("POST", f"{base}/repos/{repo}/statuses/{revision}", policy=policy,
                     headers=headers, body=json.dumps(body))
    if block.get("deployment"):
        _deployment(base, repo, revision, block["deployment"], headers, policy)


def _deployment(
    base: str, repo: str, revision: str, spec: dict[str, Any], headers: dict[str, str], policy: OutboundPolicy
) -> None:
    auto_merge = spec.get("autoMerge")
    created = http_request(
        "POST",
        f"{base}/repos/{repo}/deployments",
        policy=policy,
        headers=headers,
        body=json.dumps(
            {
                "ref": spec.get("reference") or revision,
                "environment": spec.get("environment"),
                "required_contexts": list(spec.get("requiredContexts") or []),
                "auto_merge": True if auto_merge is None else str(auto_merge).lower() == "true",
                "transient_environment": str(spec.get("transientEnvironment") or "").lower() == "true",
            }
        ),
    )
    try:
        deployment_id = json.loads(created.text)["id"]
    except (ValueError, KeyError, TypeError):
        raise DeliveryError(f"github: creating a deployment of {repo} answered without an id") from None
    body = {"state": spec.get("state"), "log_url": spec.get("logURL") or "",
            "environment_url": spec.get("environmentURL") or ""}
    http_request("POST", f"{base}/repos/{repo}/deployments/{deployment_id}/statuses", policy=policy,
                 headers=headers, body=json.dumps(body))


def _token(options: dict[str, Any], base: str, policy: OutboundPolicy) -> str:
    if options.get("token"):
        return str(options["token"])
    jwt = app_jwt(str(options["appID"]), str(options["privateKey"]))
    answer = http_request(
        "POST",
        f"{base}/app/installations/{options['installationID']}/access_tokens",
        policy=policy,
        headers={"Authorization": f"Bearer {jwt}", "Accept": "application/vnd.github+json"},
    )
    try:
        return str(json.loads(answer.text)["token"])
    except (ValueError, KeyError, TypeError):
        raise DeliveryError("github: the installation token answer holds no token") from None


def app_jwt(app_id: str, private_key_pem: str, now: float | None = None) -> str:
    """A GitHub App's JSON Web Token (RS256, valid 9 minutes, issued a minute back for clock skew)."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise DeliveryError("github: privateKey is not a PEM private key", retryable=False) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DeliveryError("github: privateKey is not an RSA key", retryable=False)
    issued = int(now if now is not None else time.time()) - 60
    header = _b64({"alg": "RS256", "typ": "JWT"})
    claims = _b64({"iat": issued, "exp": issued + 600, "iss": app_id})
    signature = key.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{claims}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).rstrip(b"=").decode()
