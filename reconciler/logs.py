"""Structured logs: one JSON object a line, carrying the application name when there is one.

`RECONCILER_LOG_FORMAT=text` (Settings.log_format) gives plain lines for a terminal; the
default is JSON when standard error is not a terminal (containers, log shippers), text otherwise.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

# Fields a call may pass with `extra=` that are worth keeping in the line.
CONTEXT_FIELDS = ("app", "operation", "revision", "phase", "trigger", "step", "provider", "repo")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(
            f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if getattr(record, name, None) is not None
        )
        base = f"[{self.formatTime(record)}: {record.levelname}/{record.name}] {record.getMessage()}"
        text = f"{base} {context}" if context else base
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure(level: str | int = "INFO", fmt: str = "") -> None:
    """Send every logger's records to standard error as `json` or `text` ("" picks by terminal)."""
    fmt = fmt.strip().lower()
    if fmt not in ("json", "text"):
        fmt = "text" if sys.stderr.isatty() else "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if isinstance(level, int) else str(level).upper())
