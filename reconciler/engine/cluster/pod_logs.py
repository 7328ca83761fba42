"""Container logs through the API server's `pods/log` subresource, as `kubectl logs` reads them.

    GET /api/v1/namespaces/{ns}/pods/{name}/log?container=&follow=&previous=&tailLines=&sinceSeconds=&timestamps=

The answer is text, not JSON; with `follow=true` the server keeps the response open and
sends lines as the container writes them, until the container stops or the caller closes.
An error (a container that must be named, no previous container, a container still waiting)
comes back as a Status object: a KubeError with the server's message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kubernetes.client.exceptions import ApiException

from reconciler.engine.cluster.client import Cluster
from reconciler.engine.cluster.errors import KubeError, server_message, status_message

MAX_TAIL_LINES = 100_000
FOLLOW_READ_TIMEOUT_SECONDS = 3600.0


@dataclass(frozen=True)
class LogRequest:
    namespace: str
    pod: str
    container: str = ""
    previous: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    timestamps: bool = False
    since_time: str = ""  # RFC 3339; the server answers lines written at or after it

    def query(self, follow: bool) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        if self.container:
            params.append(("container", self.container))
        if follow:
            params.append(("follow", "true"))
        if self.previous:
            params.append(("previous", "true"))
        if self.tail_lines is not None:
            params.append(("tailLines", str(self.tail_lines)))
        if self.since_seconds is not None:
            params.append(("sinceSeconds", str(self.since_seconds)))
        if self.since_time:
            params.append(("sinceTime", self.since_time))
        if self.timestamps:
            params.append(("timestamps", "true"))
        return params

    def describe(self) -> str:
        which = f" container {self.container}" if self.container else ""
        return f"logs of pod {self.namespace}/{self.pod}{which}{' (previous)' if self.previous else ''}"


def _open(cluster: Cluster, request: LogRequest, follow: bool) -> Any:
    path = f"/api/v1/namespaces/{quote(request.namespace, safe='')}/pods/{quote(request.pod, safe='')}/log"
    what = f"get {request.describe()}"
    try:
        serialized = cluster.api_client.param_serialize(
            "GET", path, query_params=request.query(follow), header_params={"Accept": "*/*"},
            auth_settings=["BearerToken"],
        )
        timeout = (10, FOLLOW_READ_TIMEOUT_SECONDS) if follow else (10, 60)
        resp = cluster.api_client.call_api(*serialized, _request_timeout=timeout)
    except ApiException as exc:
        message, status, reason = server_message(exc)
        raise KubeError(f"{what}: {message}", status=status, reason=reason) from None
    except Exception as exc:  # connection refused, timeouts, TLS
        raise KubeError(f"{what}: cannot reach the Kubernetes API at {cluster.server}: {exc}") from None
    if not 200 <= resp.status <= 299:
        message, reason = status_message(resp.read(), resp.reason)
        raise KubeError(f"{what}: {message}", status=resp.status, reason=reason)
    return resp


def read_log(cluster: Cluster, request: LogRequest) -> str:
    """The container's log as the server holds it now."""
    return _open(cluster, request, follow=False).read().decode("utf-8", errors="replace")


def follow_log(cluster: Cluster, request: LogRequest) -> Iterator[str]:
    """Lines (without their newline) as the container writes them, until the server ends the
    stream. The request is sent here (a refusal raises KubeError now); close the iterator to
    stop early (the connection is released)."""
    return _lines(cluster, request, _open(cluster, request, follow=True))


def _lines(cluster: Cluster, request: LogRequest, resp: Any) -> Iterator[str]:
    pending = b""
    try:
        for chunk in resp.response.stream(4096, decode_content=True):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", errors="replace")
        if pending:
            yield pending.decode("utf-8", errors="replace")
    except KubeError:
        raise
    except Exception as exc:  # the connection dropped mid-stream
        raise KubeError(f"follow {request.describe()}: the stream from {cluster.server} broke: {exc}") from None
    finally:
        resp.response.release_conn()
