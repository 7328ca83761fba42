"""A loopback HTTP server speaking the GitHub, Gitea and GitLab APIs a preview posts to: pull
request comments (list, create, edit) and commit statuses. It keeps comments like the hosts do
(ids, edits in place) and records every request, so tests read what the hosts would have got."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from reconciler.state.redis_server import free_port


@dataclass
class HostState:
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # "owner/repo#n" -> comments
    statuses: list[dict[str, Any]] = field(default_factory=list)  # {"repo", "sha", **body}
    requests: list[dict[str, Any]] = field(default_factory=list)  # method, path, headers, body
    next_id: int = 100

    def comments_of(self, repo: str, number: int) -> list[dict[str, Any]]:
        return self.comments.setdefault(f"{repo}#{number}", [])


_GITHUB_COMMENTS = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues/(?P<n>\d+)/comments$")
_GITHUB_COMMENT = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues/comments/(?P<id>\d+)$")
_GITHUB_STATUS = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/statuses/(?P<sha>[0-9a-f]+)$")
_GITLAB_NOTES = re.compile(r"^/projects/(?P<repo>[^/]+)/merge_requests/(?P<n>\d+)/notes(?:/(?P<id>\d+))?$")
_GITLAB_STATUS = re.compile(r"^/projects/(?P<repo>[^/]+)/statuses/(?P<sha>[0-9a-f]+)$")


class _Handler(BaseHTTPRequestHandler):
    state: HostState
    lock: threading.Lock

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw) if raw else None
        path = urlsplit(self.path).path
        with self.lock:
            self.state.requests.append({"method": self.command, "path": path, "body": body,
                                        "headers": {k.lower(): v for k, v in self.headers.items()}})
            status, answer = self._route(path.removeprefix("/api/v4").removeprefix("/api/v1"), body)
        self._reply(status, answer)

    do_GET = do_POST = do_PATCH = do_PUT = _handle

    def _route(self, path: str, body: Any) -> tuple[int, Any]:
        if self._authorised() is False:
            return 401, {"message": "Bad credentials"}
        for pattern in (_GITHUB_COMMENTS, _GITLAB_NOTES):
            found = pattern.match(path)
            if found:
                comments = self.state.comments_of(unquote(found["repo"]), int(found["n"]))
                if found.groupdict().get("id"):
                    return self._edit(comments, found["id"], body)
                if self.command == "GET":
                    return 200, comments
                return self._create(comments, body)
        found = _GITHUB_COMMENT.match(path)
        if found:
            everything = [c for comments in self.state.comments.values() for c in comments]
            return self._edit(everything, found["id"], body)
        for pattern in (_GITHUB_STATUS, _GITLAB_STATUS):
            found = pattern.match(path)
            if found and self.command == "POST":
                self.state.statuses.append({"repo": unquote(found["repo"]), "sha": found["sha"], **body})
                return 201, {"id": len(self.state.statuses)}
        return 404, {"message": "Not Found"}

    def _authorised(self) -> bool:
        return bool(self.headers.get("Authorization") or self.headers.get("PRIVATE-TOKEN"))

    def _create(self, comments: list[dict[str, Any]], body: Any) -> tuple[int, Any]:
        self.state.next_id += 1
        comment = {"id": self.state.next_id, "body": body["body"], "edits": 0}
        comments.append(comment)
        return 201, comment

    def _edit(self, comments: list[dict[str, Any]], comment_id: str, body: Any) -> tuple[int, Any]:
        for comment in comments:
            if str(comment["id"]) == comment_id:
                comment["body"] = body["body"]
                comment["edits"] += 1
                return 200, comment
        return 404, {"message": "Not Found"}


@contextmanager
def git_host() -> Iterator[tuple[str, HostState]]:
    """(base URL, state) of a fresh server on a free loopback port."""
    state = HostState()
    handler = type("Handler", (_Handler,), {"state": state, "lock": threading.Lock()})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
