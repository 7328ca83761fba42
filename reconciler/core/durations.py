"""Go durations (`5s`, `3m`, `1h30m`) as Argo CD's backoff fields spell them."""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
DURATION_HINT = "is not a duration like 5s, 3m, 1h30m, 500ms (a bare whole number means seconds)"


def parse_duration(value: str | int | float) -> float:
    """Seconds in a Go duration (`5s`, `3m`, `1h30m`, `500ms`).

    As in Argo CD's backoff fields, a bare whole number ("5" or 5) means seconds.
    Raises ValueError naming the text when it is not a duration.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} {DURATION_HINT}")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return float(int(text))
    sign = -1.0 if text.startswith("-") else 1.0
    rest = text[1:] if text[:1] in "+-" else text
    total, pos = 0.0, 0
    while pos < len(rest):
        match = _DURATION_PART.match(rest, pos)
        if match is None:
            raise ValueError(f"{text!r} {DURATION_HINT}")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not rest:
        raise ValueError(f"{text!r} {DURATION_HINT}")
    return sign * total


def format_duration(seconds: float) -> str:
    """The shortest Go duration for `seconds`: 5 -> `5s`, 180 -> `3m`, 5400 -> `1h30m`, 0.5 -> `500ms`."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds != int(seconds):
        millis = seconds * 1000
        return f"{sign}{int(millis)}ms" if millis == int(millis) else f"{sign}{seconds}s"
    whole = int(seconds)
    hours, rem = divmod(whole, 3600)
    minutes, secs = divmod(rem, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return sign + "".join(parts)
