"""Pull-request previews (docs/previews.md): the token and API base URL of each Git host the
results are posted to, and whether pull requests from forks are previewed at all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.settings.values import SettingsError, _flag

PREVIEW_HOSTS = ("github", "gitlab", "gitea")
DEFAULT_API_URLS = {
    "github": "https://api.github.com",
    "gitlab": "https://gitlab.com/api/v4",
    "gitea": "https://gitea.com/api/v1",
}


@dataclass(frozen=True)
class PreviewSettings:
    # host -> token (RECONCILER_PREVIEW_<HOST>_TOKEN); never logged, never in a result.
    tokens: dict[str, str] = field(default_factory=dict, repr=False)
    # host -> API base URL (RECONCILER_PREVIEW_<HOST>_API_URL), for self-hosted instances.
    api_urls: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_API_URLS))
    # A fork's pull request is content from anyone: previewed only when this is set.
    allow_forks: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PreviewSettings:
        tokens = {}
        urls = dict(DEFAULT_API_URLS)
        for host in PREVIEW_HOSTS:
            token = env.get(f"RECONCILER_PREVIEW_{host.upper()}_TOKEN", "").strip()
            if token:
                tokens[host] = token
            name = f"RECONCILER_PREVIEW_{host.upper()}_API_URL"
            url = env.get(name, "").strip().rstrip("/")
            if url:
                if not url.startswith(("https://", "http://")):
                    raise SettingsError(f"{name}={url!r} must be an http(s) URL, e.g. {DEFAULT_API_URLS[host]}")
                urls[host] = url
        return cls(tokens=tokens, api_urls=urls, allow_forks=_flag(env, "RECONCILER_PREVIEW_ALLOW_FORKS"))
