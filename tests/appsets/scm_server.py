"""A loopback HTTP server answering with the shapes of the hosting APIs Argo CD's pull-request
and SCM-provider services call (GitHub REST v3 incl. Enterprise's /api/v3 prefix, GitLab v4,
Gitea v1, Bitbucket Server 1.0), paginated as each API paginates, recording every request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class ScmState:
    pulls: list[dict[str, Any]] = field(default_factory=list)  # number, title, branch, target, sha, labels, author
    repos: list[dict[str, Any]] = field(default_factory=list)  # name, id, default_branch, branches, topics, files
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    down: bool = False
    page_size: int = 2  # small, so every test walks several pages


def _page(items: list[Any], page: int, size: int) -> tuple[list[Any], bool]:
    start = (page - 1) * size
    return items[start : start + size], start + size < len(items)


class _Handler(BaseHTTPRequestHandler):
    state: ScmState
    base: str

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.state.down:
            self._send(503, {"message": "service unavailable"})
            return
        path = unquote(parts.path)
        for prefix, handler in (
            ("/api/v3/", self._github),
            ("/gh/", self._github),
            ("/api/v4/", self._gitlab),
            ("/api/v1/", self._gitea),
            ("/rest/api/1.0/", self._bitbucket),
        ):
            if path.startswith(prefix):
                handler(path[len(prefix) :], query)
                return
        self._send(404, {"message": "Not Found"})

    # --- GitHub ----------------------------------------------------------------------
    def _github(self, path: str, query: dict[str, str]) -> None:
        page = int(query.get("page", "1"))
        segments = path.split("/")
        if segments[0] == "repos" and len(segments) == 4 and segments[3] == "pulls":
            items, more = _page(self.state.pulls, page, self.state.page_size)
            body = [
                {
                    "number": p["number"],
                    "title": p["title"],
                    "head": {"ref": p["branch"], "sha": p["sha"]},
                    "base": {"ref": p["target"]},
                    "labels": [{"name": n} for n in p["labels"]],
                    "user": {"login": p["author"]},
                }
                for p in items
            ]
            link = f'<{self.base}/{self._prefix()}{path}?state=open&per_page=100&page={page + 1}>; rel="next"'
            self._send(200, body, {"Link": link} if more else {})
        elif segments[0] == "orgs" and segments[2] == "repos":
            items, more = _page(self.state.repos, page, self.state.page_size)
            body = [
                {
                    "id": r["id"],
                    "name": r["name"],
                    "owner": {"login": segments[1]},
                    "clone_url": f"https://github.example/{segments[1]}/{r['name']}.git",
                    "ssh_url": f"git@github.example:{segments[1]}/{r['name']}.git",
                    "default_branch": r["default_branch"],
                    "topics": r.get("topics", []),
                }
                for r in items
            ]
            link = f'<{self.base}/{self._prefix()}{path}?per_page=100&page={page + 1}>; rel="next"'
            self._send(200, body, {"Link": link} if more else {})
        elif segments[0] == "repos" and segments[3] == "branches":
            repo = self._repo(segments[2])
            if len(segments) == 5:
                self._send(200, {"name": segments[4], "commit": {"sha": repo["branches"][segments[4]]}})
            else:
                self._send(200, [{"name": b, "commit": {"sha": s}} for b, s in repo["branches"].items()])
        elif segments[0] == "repos" and segments[3] == "contents":
            repo = self._repo(segments[2])
            wanted = "/".join(segments[4:])
            files = repo.get("files", {}).get(query.get("ref", ""), [])
            if any(f == wanted or f.startswith(wanted + "/") for f in files):
                self._send(200, {"type": "file", "path": wanted})
            else:
                self._send(404, {"message": "Not Found"})
        else:
            self._send(404, {"message": "Not Found"})

    def _prefix(self) -> str:
        return "api/v3/" if self.path.startswith("/api/v3/") else "gh/"

    def _repo(self, name: str) -> dict[str, Any]:
        return next(r for r in self.state.repos if r["name"] == name or str(r["id"]) == name)

    # --- GitLab ----------------------------------------------------------------------
    def _gitlab(self, path: str, query: dict[str, str]) -> None:
        page = int(query.get("page", "1"))
        segments = path.split("/")
        if segments[0] == "projects" and segments[-1] == "merge_requests":
            wanted = set(filter(None, query.get("labels", "").split(",")))
            chosen = [p for p in self.state.pulls if wanted <= set(p["labels"])]
            items, more = _page(chosen, page, self.state.page_size)
            body = [
                {
                    "iid": p["number"],
                    "title": p["title"],
                    "source_branch": p["branch"],
                    "target_branch": p["target"],
                    "sha": p["sha"],
                    "labels": p["labels"],
                    "author": {"username": p["author"]},
                    "state": "opened",
                }
                for p in items
            ]
            self._send(200, body, {"X-Next-Page": str(page + 1) if more else ""})
        elif segments[0] == "groups" and segments[-1] == "projects":
            items, more = _page(self.state.repos, page, self.state.page_size)
            body = [
                {
                    "id": r["id"],
                    "path": r["name"],
                    "namespace": {"full_path": segments[1]},
                    "http_url_to_repo": f"https://gitlab.example/{segments[1]}/{r['name']}.git",
                    "ssh_url_to_repo": f"git@gitlab.example:{segments[1]}/{r['name']}.git",
                    "default_branch": r["default_branch"],
                    "topics": r.get("topics", []),
                }
                for r in items
            ]
            self._send(200, body, {"X-Next-Page": str(page + 1) if more else ""})
        elif segments[0] == "projects" and segments[2:4] == ["repository", "branches"]:
            repo = self._repo(segments[1])
            if len(segments) == 5:
                self._send(200, {"name": segments[4], "commit": {"id": repo["branches"][segments[4]]}})
            else:
                self._send(200, [{"name": b, "commit": {"id": s}} for b, s in repo["branches"].items()])
        elif segments[0] == "projects" and segments[2:4] == ["repository", "tree"]:
            repo = self._repo(segments[1])
            wanted = query.get("path", "")
            files = repo.get("files", {}).get(query.get("ref", ""), [])
            entries = [{"path": f} for f in files if f.startswith(wanted + "/")]
            self._send(200, entries)
        elif segments[0] == "projects" and segments[2:4] == ["repository", "files"]:
            repo = self._repo(segments[1])
            wanted = "/".join(segments[4:])
            files = repo.get("files", {}).get(query.get("ref", ""), [])
            self._send(200, {"file_path": wanted}) if wanted in files else self._send(404, {"message": "404"})
        else:
            self._send(404, {"message": "404 Not Found"})

    # --- Gitea -----------------------------------------------------------------------
    def _gitea(self, path: str, query: dict[str, str]) -> None:
        segments = path.split("/")
        if segments[0] == "repos" and segments[3] == "pulls":
            items, _ = _page(self.state.pulls, int(query.get("page", "1")), int(query.get("limit", "30")))
            body = [
                {
                    "number": p["number"],
                    "title": p["title"],
                    "head": {"ref": p["branch"], "sha": p["sha"]},
                    "base": {"ref": p["target"]},
                    "labels": [{"name": n} for n in p["labels"]],
                    "user": {"login": p["author"]},
                    "state": "open",
                }
                for p in items
            ]
            self._send(200, body)
        else:
            self._send(404, {"message": "not found"})

    # --- Bitbucket Server ------------------------------------------------------------
    def _bitbucket(self, path: str, query: dict[str, str]) -> None:
        segments = path.split("/")
        if segments[0] == "projects" and segments[-1] == "pull-requests":
            start, limit = int(query.get("start", "0")), min(int(query.get("limit", "25")), self.state.page_size)
            items = self.state.pulls[start : start + limit]
            last = start + limit >= len(self.state.pulls)
            values = [
                {
                    "id": p["number"],
                    "title": p["title"],
                    "state": "OPEN",
                    "fromRef": {
                        "id": f"refs/heads/{p['branch']}",
                        "displayId": p["branch"],
                        "latestCommit": p["sha"],
                    },
                    "toRef": {"id": f"refs/heads/{p['target']}", "displayId": p["target"]},
                    "author": {"user": {"name": p["author"]}},
                }
                for p in items
            ]
            body = {"size": len(values), "limit": limit, "isLastPage": last, "start": start, "values": values}
            if not last:
                body["nextPageStart"] = start + limit
            self._send(200, body)
        else:
            self._send(404, {"errors": [{"message": "not found"}]})


@contextmanager
def scm_server() -> Iterator[tuple[str, ScmState]]:
    state = ScmState()
    handler = type("Handler", (_Handler,), {"state": state})  # one class per server: no shared state
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    handler.base = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, state
    finally:
        server.shutdown()
        server.server_close()
