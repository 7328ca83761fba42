"""The Go values trigger conditions handle beyond JSON's: `time.Time` and `time.Duration`, with
the methods Argo CD's catalog and documentation call on them, and `%v` formatting (Argo CD
turns an `oncePer` value into its key with `fmt.Sprintf("%v", value)`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from reconciler.core.errors import InputError

NANOSECONDS_PER_SECOND = 1_000_000_000


class ExprError(InputError, ValueError):
    """The expression failed while running (Argo CD: the condition counts as not met)."""


@dataclass(frozen=True, order=True)
class Duration:
    """Go's time.Duration: whole nanoseconds."""

    nanoseconds: int

    def Hours(self) -> float:
        return self.nanoseconds / (3600 * NANOSECONDS_PER_SECOND)

    def Minutes(self) -> float:
        return self.nanoseconds / (60 * NANOSECONDS_PER_SECOND)

    def Seconds(self) -> float:
        return self.nanoseconds / NANOSECONDS_PER_SECOND

    def Milliseconds(self) -> int:
        return int(self.nanoseconds / 1_000_000)

    def Nanoseconds(self) -> int:
        return self.nanoseconds

    def String(self) -> str:
        return go_duration_text(self.nanoseconds)


@dataclass(frozen=True)
class GoTime:
    """Go's time.Time, as an aware UTC datetime (microsecond precision is enough here)."""

    value: dt.datetime

    def _other(self, other: Any, method: str) -> dt.datetime:
        if not isinstance(other, GoTime):
            raise ExprError(f"{method}: expected a time, got {type_name(other)}")
        return other.value

    def Sub(self, other: Any) -> Duration:
        delta = self.value - self._other(other, "Sub")
        return Duration(round(delta.total_seconds() * NANOSECONDS_PER_SECOND))

    def Add(self, duration: Any) -> GoTime:
        nanoseconds = duration.nanoseconds if isinstance(duration, Duration) else duration
        if isinstance(nanoseconds, bool) or not isinstance(nanoseconds, int):
            raise ExprError(f"Add: expected a duration, got {type_name(duration)}")
        return GoTime(self.value + dt.timedelta(microseconds=nanoseconds / 1000))

    def Before(self, other: Any) -> bool:
        return self.value < self._other(other, "Before")

    def After(self, other: Any) -> bool:
        return self.value > self._other(other, "After")

    def Equal(self, other: Any) -> bool:
        return self.value == self._other(other, "Equal")

    def Unix(self) -> int:
        return int(self.value.timestamp())

    def UTC(self) -> GoTime:
        return GoTime(self.value.astimezone(dt.UTC))

    def Local(self) -> GoTime:
        return GoTime(self.value.astimezone())

    def IsZero(self) -> bool:
        return self.value == GO_ZERO_TIME

    def Format(self, layout: Any) -> str:
        if layout not in _FORMATS:
            raise ExprError(f"Format: only the layouts time.RFC3339 and time.RFC3339Nano are supported, not {layout!r}")
        return _FORMATS[layout](self.value)


GO_ZERO_TIME = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"
_FORMATS = {
    RFC3339: lambda value: format_rfc3339(value.timestamp(), value),
    RFC3339_NANO: lambda value: value.isoformat().replace("+00:00", "Z"),
}

# Method names a condition may call on a value, checked when the configuration loads.
METHODS = frozenset(
    name for cls in (Duration, GoTime) for name in vars(cls) if name[:1].isupper() and callable(getattr(cls, name))
)


def parse_rfc3339(text: Any) -> GoTime:
    """time.Parse(time.RFC3339, text), as Argo CD's `time.Parse` (fractions of a second too)."""
    if not isinstance(text, str):
        raise ExprError(f"time.Parse: expected a string, got {type_name(text)}")
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ExprError(f'time.Parse: parsing time "{text}" as RFC3339 failed') from None
    if parsed.tzinfo is None or "T" not in text:
        raise ExprError(f'time.Parse: parsing time "{text}" as RFC3339 failed (a date, time and zone are needed)')
    return GoTime(parsed.astimezone(dt.UTC))


def format_rfc3339(epoch: float, value: dt.datetime | None = None) -> str:
    """Kubernetes' metav1.Time text: RFC 3339 in UTC, whole seconds."""
    moment = (value or dt.datetime.fromtimestamp(epoch, dt.UTC)).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration_text(nanoseconds: int) -> str:
    """Go's Duration.String for whole seconds and above, e.g. 1h2m3s, 90s -> 1m30s."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    seconds = abs(nanoseconds) / NANOSECONDS_PER_SECOND
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = (f"{int(hours)}h" if hours else "") + (f"{int(minutes)}m" if hours or minutes else "")
    return f"{sign}{text}{seconds:g}s"


def type_name(value: Any) -> str:
    if value is None:
        return "nil"
    names = {bool: "bool", int: "int", float: "float64", str: "string", list: "array", dict: "map"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return {Duration: "time.Duration", GoTime: "time.Time"}.get(type(value), type(value).__name__)


def go_format(value: Any) -> str:
    """fmt.Sprintf("%v", value) for the values a condition produces."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if value != int(value) or abs(value) >= 1e21 else str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(go_format(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{go_format(k)}:{go_format(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, Duration):
        return value.String()
    if isinstance(value, GoTime):
        return value.value.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
    return str(value)
