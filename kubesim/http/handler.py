"""HTTP/1.1 front of kubesim: routing, fault injection, request log, JSON and chunked watch responses.

Responses are written in one `write` (status line, headers and body) with TCP_NODELAY,
so a keep-alive client is never held up by delayed ACKs.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kubesim.api import SimAPI
from kubesim.auth.access import REVIEW_RESOURCES
from kubesim.errors import ApiError, InternalError, MethodNotAllowed, NotFound, UnsupportedMediaType
from kubesim.http import events_v1_view
from kubesim.http.faults import FaultRule
from kubesim.http.params import parse_params
from kubesim.http.pod_logs import LogRead
from kubesim.http.review_protobuf import PROTOBUF, decode_review
from kubesim.http.routes import ResourcePath, method_verb, parse_resource_path
from kubesim.http.tables import table_response
from kubesim.schema.fieldvalidation import parse_noting_duplicates, warning_header
from kubesim.storage.watch import watch_stream
from kubesim.verbs.deletion import DeleteOptions
from kubesim.verbs.operations import Target, WriteContext, parse_body
from kubesim.verbs.scale import refuse_unknown_verb

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 410: "Gone", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
            504: "Gateway Timeout", 200: "OK", 201: "Created", 202: "Accepted"}
_STATUS_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                   405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType",
                   422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
                   504: "Timeout"}
_HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/livez"})
_NOT_FOUND = ApiError("the server could not find the requested resource", code=404, reason="NotFound")


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class KubeSimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], api: SimAPI) -> None:
        self.api = api
        super().__init__(address, ApiHandler)


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: KubeSimHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log replaces stderr access logs

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # ---------------------------------------------------------------- plumbing
    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length:
            return self.rfile.read(int(length))
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _record(self, status: int) -> None:
        """Log the request once, before its response goes out, so a client that got an answer finds it logged."""
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        method, path, query, started = pending
        elapsed = time.perf_counter() - started
        self.server.api.log.record(method, path, query, status, elapsed * 1000, self._verb,
                                   user_agent=self.headers.get("User-Agent", ""), received=time.time() - elapsed)

    def _send(self, status: int, body: bytes, extra_headers: str = "", content_type: str = "application/json") -> None:
        self._record(status)
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
                f"Content-Type: {content_type}\r\nCache-Control: no-cache, private\r\n"
                f"Content-Length: {len(body)}\r\n{extra_headers}")
        if self.close_connection:
            head += "Connection: close\r\n"
        self.wfile.write(head.encode() + b"\r\n" + body)

    def _send_stream(self, lines: Iterator[bytes], content_type: str = "application/json") -> None:
        self._record(200)
        self.wfile.write(f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n".encode() +
                         b"Cache-Control: no-cache, private\r\nTransfer-Encoding: chunked\r\n\r\n")
        self.wfile.flush()
        try:
            for line in lines:
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _handle(self, method: str) -> None:
        started = time.perf_counter()
        path, _, query = self.path.partition("?")
        api = self.server.api
        body = self._read_body()
        self._pending: tuple[str, str, str, float] | None = None
        if path.startswith("/_kubesim/"):
            self._admin(method, path, body)
            return
        self._pending = (method, path, query, started)
        self._verb = ""
        try:
            fault = api.faults.match(method, path)
            if fault is not None:
                self._verb = self._verb_for_log(method, path, query)
                if self._inject(fault):
                    return
            try:
                self._user = api.access.admit(method, path, query, self.headers)
            except ApiError as error:
                self._send(error.code, _encode(error.to_status()))
                return
            self._dispatch(method, path, query, body)
        finally:
            self._record(0)  # only when nothing was sent: a dropped connection or a crash

    def _verb_for_log(self, method: str, path: str, query: str) -> str:
        route = parse_resource_path(path)
        if route is None:
            return "discovery"
        return method_verb(method, route, parse_params(query).watch if "watch" in query else False,
                           self.headers.get("Content-Type", ""))

    def _inject(self, rule: FaultRule) -> bool:
        """Apply a fired fault; True when it produced the response (or dropped the connection)."""
        if rule.latency_ms:
            time.sleep(rule.latency_ms / 1000)
        if rule.drop_connection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if rule.status is None:
            return False
        code = rule.status
        reason = _STATUS_REASONS.get(code, "Unknown")
        message = rule.message or f"kubesim injected fault: {code} {reason}"
        details: dict[str, Any] = {}
        headers = ""
        if rule.retry_after is not None:
            details["retryAfterSeconds"] = rule.retry_after
            headers = f"Retry-After: {rule.retry_after}\r\n"
        error = ApiError(message, code=code, reason=reason, details=details)
        self._send(code, _encode(error.to_status()), headers)
        return True

    # ----------------------------------------------------------------- routing
    def _dispatch(self, method: str, path: str, query: str, body: bytes) -> None:
        api = self.server.api
        route = parse_resource_path(path)
        if route is None:
            content_type = "application/json"
            if path.startswith("/openapi/"):
                found = api.openapi.document(path, self.headers.get("Accept", ""))
                doc, content_type = found if found else (None, content_type)
            else:
                doc = api.discovery.version if path == "/version" else api.discovery.document(path.rstrip("/"))
            self._verb = "discovery"
            if path in _HEALTH_PATHS:
                self._record(200)
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                 b"Content-Length: 2\r\n\r\nok")
            elif doc is None or method != "GET":
                self._send(404, _encode(_NOT_FOUND.to_status()))
            else:
                self._send(200, doc, content_type=content_type)
            return
        if route.group == "" and route.plural == "pods" and route.subresource == "log" and route.name:
            self._verb = "get"
            self._pod_log(method, route, query)
            return
        params = parse_params(query)
        verb = method_verb(method, route, params.watch, self.headers.get("Content-Type", ""))
        self._verb = verb
        self._warnings: list[str] = []
        try:
            status, payload = self._resource(method, route, params, verb, body)
        except ApiError as error:
            status, payload = error.code, _encode(error.to_status())
        except Exception as exc:  # a kubesim bug must still answer like an API server would
            traceback.print_exc(file=sys.stderr)
            error = InternalError(f"kubesim failed on {method} {path}: {type(exc).__name__}: {exc}")
            status, payload = error.code, _encode(error.to_status())
        if isinstance(payload, bytes):
            self._send(status, payload, warning_header(self._warnings) if self._warnings else "")
        else:
            self._send_stream(payload)

    def _pod_log(self, method: str, route: ResourcePath, query: str) -> None:
        """The `pods/log` subresource: text, or a chunked text stream with follow=true."""
        api = self.server.api
        try:
            if method != "GET":
                raise MethodNotAllowed(method.lower(), "pods/log")
            rtype = api.registry.lookup("", route.version, "pods")
            if rtype is None or not route.namespace:
                raise _NOT_FOUND
            read = LogRead(api.cluster, Target(rtype, route.namespace, route.name), query)
            if read.follow:
                read.first()  # refusals (no such container, nothing to read) answer before the stream opens
                self._send_stream(read.stream(), "text/plain")
            else:
                self._send(200, read.body(), content_type="text/plain")
        except ApiError as error:
            self._send(error.code, _encode(error.to_status()))

    def _resource(self, method: str, route: ResourcePath, params: Any, verb: str,
                  body: bytes) -> tuple[int, bytes | Iterator[bytes]]:
        api = self.server.api
        rtype = api.registry.lookup(route.group, route.version, route.plural)
        if rtype is None or (route.namespace and not rtype.namespaced):
            raise _NOT_FOUND
        if rtype.namespaced and route.name and not route.namespace and route.plural != "namespaces":
            raise _NOT_FOUND  # a namespaced object is addressed through its namespace
        if route.subresource and (route.subresource not in rtype.subresources
                                  or route.subresource not in ("status", "scale")):
            raise _NOT_FOUND
        if (route.group, route.plural) in REVIEW_RESOURCES and verb == "create":
            protobuf = self.headers.get("Content-Type", "").startswith(PROTOBUF)
            review = decode_review(body) if protobuf else parse_body(body)
            return 201, _encode(api.access.review(route, review, self._user))
        if body and self.headers.get("Content-Type", "").startswith(PROTOBUF):
            # kubesim keeps no protobuf schemas: refuse as a real server refuses protobuf for custom resources
            raise UnsupportedMediaType("the body of the request was in an unknown format - accepted media types "
                                       "include: application/json, application/yaml")
        if (route.group, route.plural) == (events_v1_view.GROUP, "events"):
            return events_v1_view.serve(api, verb, route, params, body, self.headers.get("Content-Type", ""),
                                        self.headers.get("User-Agent", ""))
        target = Target(rtype, route.namespace, route.name, route.subresource)
        if verb not in rtype.verbs and verb not in ("apply",):
            raise MethodNotAllowed(verb, rtype.plural, rtype.group)
        if verb in ("update", "patch", "apply") and not route.name:
            raise MethodNotAllowed(verb, rtype.plural, rtype.group)
        if route.subresource == "scale":
            refuse_unknown_verb(verb, rtype.plural, rtype.group)
        ctx = WriteContext(params, self.headers.get("User-Agent", ""))
        self._warnings = ctx.warnings
        cluster = api.cluster
        if verb in ("get", "list", "watch") and "as=Table" in self.headers.get("Accept", ""):
            table = table_response(cluster, target, params, verb, self.headers.get("Accept", ""))
            if table is not None:
                return 200, table
        if verb == "get":
            return 200, _encode(cluster.get(target))
        if verb == "list":
            return 200, _encode(cluster.list(target, params))
        if verb == "watch":
            return 200, watch_stream(cluster, target, params, api.bookmark_interval)
        if verb == "create":
            if route.name:
                raise MethodNotAllowed("create", f"{rtype.plural}/{route.subresource or route.name}", rtype.group)
            return 201, _encode(cluster.create(target, parse_noting_duplicates(body, "request body", ctx.duplicates),
                                               ctx))
        if verb == "update":
            return 200, _encode(cluster.update(target, parse_noting_duplicates(body, "request body", ctx.duplicates),
                                               ctx))
        if verb in ("patch", "apply"):
            obj, status = cluster.patch(target, body, self.headers.get("Content-Type", ""), ctx)
            return status, _encode(obj)
        if verb == "delete":
            options = DeleteOptions.parse(params, parse_body(body, "DeleteOptions body"), "delete")
            return 200, _encode(api.deleter.delete(target, options))
        if verb == "deletecollection":
            options = DeleteOptions.parse(params, parse_body(body, "DeleteOptions body"), "deletecollection")
            return 200, _encode(api.deleter.delete_collection(target, params, options))
        raise MethodNotAllowed(method, rtype.plural, rtype.group)

    # ------------------------------------------------------------------- admin
    def _admin(self, method: str, path: str, body: bytes) -> None:
        api = self.server.api
        endpoint = path[len("/_kubesim/"):].rstrip("/")
        try:
            result: Any
            if endpoint == "requests" and method == "GET":
                result = api.requests()
            elif (endpoint == "requests" and method == "DELETE") or (endpoint == "clear_log" and method == "POST"):
                api.clear_log()
                result = {"cleared": "log"}
            elif endpoint == "stats" and method == "GET":
                result = api.stats()
            elif endpoint == "reset" and method == "POST":
                api.reset()
                result = {"reset": True}
            elif endpoint == "faults" and method == "GET":
                result = api.fault_rules()
            elif endpoint == "faults" and method == "POST":
                api.add_faults(parse_body(body, "fault rules"))
                result = api.fault_rules()
            elif endpoint == "faults" and method == "DELETE":
                api.clear_faults()
                result = []
            elif endpoint in ("requests", "stats", "reset", "faults", "clear_log"):
                raise MethodNotAllowed(method, f"_kubesim/{endpoint}")
            else:
                raise NotFound("_kubesim endpoints", endpoint)
            self._send(200, _encode(result))
        except ApiError as error:
            self._send(error.code, _encode(error.to_status()))
