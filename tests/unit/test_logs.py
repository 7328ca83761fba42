"""Logs are structured and carry the application name."""

from __future__ import annotations

import json
import logging

import pytest

from reconciler import logs


def record(message: str, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("reconciler.sync", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_json_line_carries_the_application_and_operation() -> None:
    line = json.loads(logs.JsonFormatter().format(record("sync started", app="api", operation="op-1")))
    assert line["message"] == "sync started"
    assert line["app"] == "api" and line["operation"] == "op-1"
    assert line["level"] == "INFO" and line["logger"] == "reconciler.sync"


def test_fields_that_are_not_context_stay_out_of_the_line() -> None:
    line = json.loads(logs.JsonFormatter().format(record("x", password="hunter2")))
    assert "password" not in line and "hunter2" not in json.dumps(line)


def test_text_line_appends_the_context() -> None:
    text = logs.TextFormatter().format(record("polled: Synced, Healthy", app="api", revision="abc123"))
    assert text.endswith("polled: Synced, Healthy app=api revision=abc123")


def test_configure_writes_json_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        logs.configure("INFO", "json")
        logging.getLogger("reconciler.test").info("hello", extra={"app": "shop"})
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    assert json.loads(capsys.readouterr().err.strip().splitlines()[-1])["app"] == "shop"
