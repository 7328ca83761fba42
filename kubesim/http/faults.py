"""Fault injection: rules that make matching requests slow, fail with a status, or drop the connection."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from kubesim.errors import BadRequest

_RULE_KEYS = {"path_regex", "methods", "fraction", "status", "retry_after", "latency_ms", "drop_connection",
              "count", "message", "seed"}


@dataclass
class FaultRule:
    """One rule; `count` None means unlimited. A rule with only latency lets the request proceed."""

    path_regex: str = ""
    methods: frozenset[str] = frozenset()
    fraction: float = 1.0
    status: int | None = None
    retry_after: int | None = None
    latency_ms: float = 0.0
    drop_connection: bool = False
    count: int | None = None
    message: str = ""
    fired: int = 0
    _pattern: re.Pattern[str] = field(default=re.compile(""), repr=False)

    @classmethod
    def from_dict(cls, raw: Any, index: int) -> FaultRule:
        where = f"fault rule {index}"
        if not isinstance(raw, dict):
            raise BadRequest(f"{where} must be a JSON object, got {type(raw).__name__}")
        unknown = set(raw) - _RULE_KEYS
        if unknown:
            raise BadRequest(f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(_RULE_KEYS - {'seed'})}")
        try:
            pattern = re.compile(str(raw.get("path_regex", "")))
        except re.error as exc:
            raise BadRequest(f"{where}: path_regex does not compile: {exc}") from None
        status = raw.get("status")
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise BadRequest(f"{where}: status must be an HTTP status code (100-599), got {status!r}")
        fraction = raw.get("fraction", 1.0)
        if not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
            raise BadRequest(f"{where}: fraction must be a number from 0 to 1, got {fraction!r}")
        methods = raw.get("methods") or []
        if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
            raise BadRequest(f"{where}: methods must be a list of HTTP method names")
        count = raw.get("count")
        if count is not None and (not isinstance(count, int) or count < 0):
            raise BadRequest(f"{where}: count must be a non-negative integer, got {count!r}")
        return cls(path_regex=pattern.pattern, methods=frozenset(m.upper() for m in methods),
                   fraction=float(fraction), status=status, retry_after=raw.get("retry_after"),
                   latency_ms=float(raw.get("latency_ms") or 0), drop_connection=bool(raw.get("drop_connection")),
                   count=count, message=str(raw.get("message") or ""), _pattern=pattern)

    def to_dict(self) -> dict[str, Any]:
        return {"path_regex": self.path_regex, "methods": sorted(self.methods), "fraction": self.fraction,
                "status": self.status, "retry_after": self.retry_after, "latency_ms": self.latency_ms,
                "drop_connection": self.drop_connection, "count": self.count, "fired": self.fired}

    def applies_to(self, method: str, path: str) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        if self.methods and method not in self.methods:
            return False
        return bool(self._pattern.search(path))


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._random = random.Random()

    def add(self, raw_rules: Any) -> list[FaultRule]:
        if isinstance(raw_rules, dict):
            raw_rules = [raw_rules]
        if not isinstance(raw_rules, list):
            raise BadRequest("faults must be a JSON list of rule objects")
        rules = [FaultRule.from_dict(raw, i) for i, raw in enumerate(raw_rules)]
        with self._lock:
            for raw in raw_rules:
                if "seed" in raw:
                    self._random.seed(raw["seed"])
            self._rules.extend(rules)
        return rules

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def match(self, method: str, path: str) -> FaultRule | None:
        """The first rule that fires for this request (counting it), or None."""
        if not self._rules:
            return None
        with self._lock:
            for rule in self._rules:
                if rule.applies_to(method, path) and (rule.fraction >= 1 or self._random.random() < rule.fraction):
                    rule.fired += 1
                    return rule
        return None
