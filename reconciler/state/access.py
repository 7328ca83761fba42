"""Access state: login sessions, single sign-ons in progress, project role tokens, audit counters.

No secret is stored in clear: a session keeps the SHA-256 of its access and refresh secrets,
a sign-on waiting for the CLI the SHA-256 of its one-time code (in the key), and a project
token only its id, issued-at and expiry (the token itself is a signed JWT the caller keeps).
"""

from __future__ import annotations

import json
import time
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps

# Swap a session's secrets when the caller shows the current refresh secret's hash; the old
# refresh secret is then worthless. Returns 1 swapped, 0 hash mismatch, -1 no such session.
_ROTATE_SESSION = """
local raw = redis.call('GET', KEYS[1])
if not raw then return -1 end
local session = cjson.decode(raw)
if session['refreshHash'] ~= ARGV[1] then return 0 end
session['accessHash'] = ARGV[2]
session['accessExpires'] = tonumber(ARGV[3])
session['refreshHash'] = ARGV[4]
redis.call('SET', KEYS[1], cjson.encode(session), 'KEEPTTL')
return 1
"""


class AccessState(RedisState):
    SCRIPTS = {"_rotate_session": _ROTATE_SESSION}

    # --- sessions ---------------------------------------------------------------------

    def put_session(self, session_id: str, record: dict[str, Any], expires_at: float) -> None:
        ttl_ms = max(1, int((expires_at - time.time()) * 1000))
        with self.r.pipeline() as pipe:
            pipe.set(Keys.session(session_id), dumps(record), px=ttl_ms)
            pipe.zadd(Keys.sessions, {session_id: expires_at})
            pipe.execute()

    def session(self, session_id: str) -> dict[str, Any] | None:
        raw = self.r.get(Keys.session(session_id))
        return json.loads(raw) if raw else None

    def rotate_session(
        self, session_id: str, refresh_hash: str, access_hash: str, access_expires: float, new_refresh_hash: str
    ) -> int:
        """1 when the secrets were swapped, 0 when `refresh_hash` is not the session's, -1 when it is gone."""
        args = [refresh_hash, access_hash, f"{access_expires:.3f}", new_refresh_hash]
        return int(self._rotate_session(keys=[Keys.session(session_id)], args=args))

    def delete_session(self, session_id: str) -> bool:
        with self.r.pipeline() as pipe:
            pipe.delete(Keys.session(session_id))
            pipe.zrem(Keys.sessions, session_id)
            existed = pipe.execute()[0]
        return bool(existed)

    def sessions(self) -> dict[str, dict[str, Any]]:
        """Every live session by id (ids of expired ones are dropped from the index on the way)."""
        self.r.zremrangebyscore(Keys.sessions, "-inf", time.time())
        ids = list(self.r.zrange(Keys.sessions, 0, -1))
        if not ids:
            return {}
        raws = self.r.mget([Keys.session(session_id) for session_id in ids])
        return {session_id: json.loads(raw) for session_id, raw in zip(ids, raws, strict=True) if raw}

    # --- single sign-on in progress ------------------------------------------------------

    def _take(self, key: str) -> dict[str, Any] | None:
        with self.r.pipeline() as pipe:  # MULTI: read and delete at once, so a value is used once
            pipe.get(key)
            pipe.delete(key)
            raw = pipe.execute()[0]
        return json.loads(raw) if raw else None

    def put_oidc_login(self, state: str, record: dict[str, Any], ttl_seconds: int) -> None:
        self.r.set(Keys.oidc_login(state), dumps(record), ex=ttl_seconds)

    def take_oidc_login(self, state: str) -> dict[str, Any] | None:
        return self._take(Keys.oidc_login(state))

    def put_login_grant(self, code_hash: str, record: dict[str, Any], ttl_seconds: int) -> None:
        self.r.set(Keys.login_grant(code_hash), dumps(record), ex=ttl_seconds)

    def take_login_grant(self, code_hash: str) -> dict[str, Any] | None:
        return self._take(Keys.login_grant(code_hash))

    # --- device sign-ins (RFC 8628) -------------------------------------------------------

    def put_device_login(self, device_hash: str, user_code: str, record: dict[str, Any], ttl_seconds: int) -> bool:
        """A pending device sign-in; False when the user code is taken (the caller draws another)."""
        if not self.r.set(Keys.device_user_code(user_code), device_hash, ex=ttl_seconds, nx=True):
            return False
        self.r.set(Keys.device_login(device_hash), dumps(record), ex=ttl_seconds)
        return True

    def count_device_request(self, source: str, window_seconds: int = 60) -> tuple[int, float]:
        """Count one device sign-in asked for by `source` in the current fixed window; returns
        (requests in the window so far, seconds until the window ends)."""
        return self._count_in_window(Keys.device_rate(source), window_seconds)

    def count_login_request(self, source: str, window_seconds: int = 60) -> tuple[int, float]:
        """Count one single sign-on started by `source` in the current fixed window; returns
        (requests in the window so far, seconds until the window ends)."""
        return self._count_in_window(Keys.login_rate(source), window_seconds)

    def take_device_user_code(self, user_code: str) -> str | None:
        """The device sign-in a user code stands for, once: a code confirmed is used up."""
        raw = self.r.getdel(Keys.device_user_code(user_code))
        return str(raw) if raw else None

    def device_login(self, device_hash: str) -> dict[str, Any] | None:
        raw = self.r.get(Keys.device_login(device_hash))
        return json.loads(raw) if raw else None

    def settle_device_login(self, device_hash: str, record: dict[str, Any]) -> bool:
        """Record the outcome (approved or denied) of a device sign-in still pending; keeps its expiry."""
        return bool(self.r.set(Keys.device_login(device_hash), dumps(record), keepttl=True, xx=True))

    def take_device_login(self, device_hash: str) -> dict[str, Any] | None:
        return self._take(Keys.device_login(device_hash))

    # --- project role tokens ---------------------------------------------------------------

    def put_project_token(self, project: str, role: str, record: dict[str, Any]) -> None:
        self.r.hset(Keys.project_tokens(project), f"{role}:{record['id']}", dumps(record))

    def project_tokens(self, project: str) -> dict[str, list[dict[str, Any]]]:
        """Role name -> its tokens' records, oldest first."""
        by_role: dict[str, list[dict[str, Any]]] = {}
        for field, raw in self.r.hgetall(Keys.project_tokens(project)).items():
            by_role.setdefault(field.split(":", 1)[0], []).append(json.loads(raw))
        for records in by_role.values():
            records.sort(key=lambda record: (record.get("iat", 0), record.get("id", "")))
        return by_role

    def project_token(self, project: str, role: str, token_id: str) -> dict[str, Any] | None:
        raw = self.r.hget(Keys.project_tokens(project), f"{role}:{token_id}")
        return json.loads(raw) if raw else None

    def delete_project_token(self, project: str, role: str, token_id: str) -> bool:
        return bool(self.r.hdel(Keys.project_tokens(project), f"{role}:{token_id}"))

    # --- audit ------------------------------------------------------------------------

    def count_audit_event(self, action: str, outcome: str) -> None:
        self.r.hincrby(Keys.metrics_audit, json.dumps([action, outcome]), 1)
