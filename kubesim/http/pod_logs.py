"""`GET /api/v1/namespaces/{ns}/pods/{name}/log`: the `pods/log` subresource, as kube-apiserver
serves it (text/plain), with `container`, `follow`, `previous`, `tailLines`, `sinceSeconds`,
`sinceTime`, `timestamps` and `limitBytes`. The lines come from controllers/container_logs.py.

With `follow=true` the answer is chunked and stays open while the container runs, sending lines
as they are written; it ends when that container instance stops or the pod goes away, as the
kubelet's stream does.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

from kubesim.controllers.container_logs import Instance, bad_request, instance_of, lines_of, pick_container, render
from kubesim.errors import ApiError, NotFound

FOLLOW_POLL_SECONDS = 0.1


def _flag(query: dict[str, list[str]], name: str) -> bool:
    value = (query.get(name) or ["false"])[-1].lower()
    if value not in ("true", "false", "1", "0", ""):
        raise bad_request(f"{name}: invalid value {value!r}: must be true or false")
    return value in ("true", "1")


def _number(query: dict[str, list[str]], name: str, minimum: int) -> int | None:
    if name not in query:
        return None
    raw = query[name][-1]
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name}: invalid value {raw!r}: must be an integer") from None
    if value < minimum:
        raise ApiError(f'PodLogOptions "" is invalid: {name}: Invalid value: {value}: must be greater than '
                       f"{'or equal to ' if minimum == 0 else ''}{minimum - 1 if minimum else 0}",
                       code=422, reason="Invalid")
    return value


class LogRead:
    def __init__(self, cluster: Any, target: Any, query_text: str) -> None:
        query = parse_qs(query_text, keep_blank_values=True)
        self.cluster, self.target = cluster, target
        self.container_name = (query.get("container") or [""])[-1]
        self.follow = _flag(query, "follow")
        self.previous = _flag(query, "previous")
        self.timestamps = _flag(query, "timestamps")
        self.tail = _number(query, "tailLines", 0)
        self.since_seconds = _number(query, "sinceSeconds", 1)
        self.limit_bytes = _number(query, "limitBytes", 1)
        since_time = (query.get("sinceTime") or [""])[-1]
        if self.since_seconds is not None and since_time:
            raise ApiError('PodLogOptions "" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` '
                           "may be specified", code=422, reason="Invalid")
        try:
            self.since = (time.time() - self.since_seconds if self.since_seconds is not None else
                          dt.datetime.fromisoformat(since_time.replace("Z", "+00:00")).timestamp() if since_time
                          else None)
        except ValueError:
            raise bad_request(f"sinceTime: invalid value {since_time!r}: must be RFC 3339") from None

    def pod(self) -> dict[str, Any]:
        return self.cluster.get(self.target)

    def instance(self) -> Instance:
        pod = self.pod()
        return instance_of(pod, pick_container(pod, self.container_name), self.previous)

    def first(self) -> tuple[Instance, list[tuple[float, str]]]:
        instance = self.instance()
        lines = lines_of(instance, time.time())
        if self.since is not None:
            lines = [line for line in lines if line[0] >= self.since]
        if self.tail is not None:
            lines = lines[-self.tail:] if self.tail else []
        return instance, lines

    def body(self) -> bytes:
        _, lines = self.first()
        data = render(lines, self.timestamps)
        return data[: self.limit_bytes] if self.limit_bytes is not None else data

    def stream(self) -> Iterator[bytes]:
        instance, lines = self.first()
        sent = len(lines_of(instance, time.time()))
        if lines:
            yield render(lines, self.timestamps)
        if instance.finished is not None:
            return
        while True:
            time.sleep(FOLLOW_POLL_SECONDS)
            try:
                current = self.instance()
            except (NotFound, ApiError):
                return
            now_lines = lines_of(instance, time.time())
            if now_lines[sent:]:
                yield render(now_lines[sent:], self.timestamps)
                sent = len(now_lines)
            if current.container_id != instance.container_id:
                return  # the instance followed has stopped
