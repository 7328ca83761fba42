"""The token the remote CLI sends: RECONCILER_API_TOKEN when set, else what `reconciler login` kept.

A login session's access token lasts an hour; when it is about to end (or the API answers
401) it is renewed with the refresh token at POST /auth/token, and the new pair is written back
to the sessions file. When the session itself has ended, the message says to log in again.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from reconciler.cli import session_file

RENEW_BEFORE_SECONDS = 60.0


class LoginRequired(Exception):
    """The stored session ended; the message says how to log in again."""


class Credentials:
    def __init__(self, server: str, token: str = "") -> None:
        self.server = server.rstrip("/")
        self.explicit = token
        self.entry: dict[str, Any] | None = None if token else session_file.load(self.server)

    def _renewable(self) -> bool:
        return bool(self.entry and self.entry.get("refresh_token"))

    def header(self, http: httpx.Client) -> dict[str, str]:
        if self.explicit:
            return {"Authorization": f"Bearer {self.explicit}"}
        if self.entry is None:
            return {}
        if self._renewable() and float(self.entry.get("expires_at") or 0) - RENEW_BEFORE_SECONDS < time.time():
            self.refresh(http)
        return {"Authorization": f"Bearer {self.entry['access_token']}"}

    def refresh(self, http: httpx.Client) -> bool:
        """Renew the stored session's tokens; False when there is nothing to renew."""
        if self.explicit or not self._renewable():
            return False
        assert self.entry is not None
        try:
            answer = http.post("/auth/token", json={"grant_type": "refresh_token",
                                                    "refresh_token": self.entry["refresh_token"]})  # fmt: skip
        except httpx.HTTPError as exc:
            raise LoginRequired(f"cannot reach {self.server} to renew the session: {exc}") from None
        if answer.status_code != 200:
            session_file.forget(self.server)
            try:
                reason = answer.json().get("error") or answer.text
            except ValueError:
                reason = answer.text
            raise LoginRequired(f"the login session ended ({reason}): run `reconciler login --sso {self.server}`")
        self.entry = entry_from_answer(answer.json())
        session_file.save(self.server, self.entry)
        return True


def entry_from_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """What the sessions file keeps of a POST /auth/token answer."""
    return {
        "kind": "sso",
        "access_token": answer["access_token"],
        "refresh_token": answer.get("refresh_token", ""),
        "expires_at": answer.get("expires_at"),
        "session_expires_at": answer.get("session_expires_at"),
        "name": answer.get("name", ""),
        "subject": answer.get("subject", ""),
        "groups": answer.get("groups", []),
    }
