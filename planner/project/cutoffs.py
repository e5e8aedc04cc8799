"""`exclude-newer`: files uploaded after a point in time do not exist for the plan (uv's setting).

A value is an RFC 3339 timestamp (`2024-06-01T12:00:00Z`), a date (`2024-06-01`: files uploaded
that day count, so the cut-off is the next midnight, UTC), or a span before the compile: a
"friendly" duration (`7 days`, `1 week 2 days`, `24h`) or an ISO 8601 one (`P7D`, `PT24H`). As in
uv, a span counts a day as 24 hours and months or years are refused (their length varies).

Differences from uv, on purpose (docs/uv-compat.md): a date is read in UTC, not in the local time
zone, so that one pyproject means the same on every machine; a timestamp needs its offset (`Z` or
`+02:00`). A span is resolved against the clock by the compile (`resolved`), which records the
timestamp and the span in its outputs; the next compile reuses the recorded timestamp while the
span is unchanged, and moves it only on `--upgrade` / `--upgrade-package`.

Pure: the clock is an argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from planner.errors import Location

_UNITS = {  # friendly duration units, in seconds
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "wks": 604800, "week": 604800, "weeks": 604800,
}
_CALENDAR_UNITS = ("mo", "mos", "month", "months", "y", "yr", "yrs", "year", "years")
_FRIENDLY_PART = re.compile(r"(\d+)\s*([a-z]+)")
_ISO_DURATION = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

EXAMPLES = 'a timestamp "2024-06-01T00:00:00Z", a date "2024-06-01", or a span "7 days" / "P7D"'


class CutoffError(ValueError):
    """A value that is not a timestamp, a date or a span; the message says what is wrong."""


@dataclass(frozen=True)
class ExcludeNewer:
    """One cut-off as configured: files uploaded after `timestamp` are left out.

    `span` is set for a duration ("7 days"): its `timestamp` is None until `resolved` against a
    clock (or a recorded earlier timestamp)."""

    text: str  # as written (or given on the command line)
    timestamp: datetime | None  # UTC
    span: timedelta | None = None
    origin: Location | None = None

    @property
    def cutoff(self) -> datetime:
        if self.timestamp is None:
            raise ValueError(f"exclude-newer {self.text!r} is a span that was not resolved against a clock")
        return self.timestamp

    @property
    def span_text(self) -> str | None:
        return None if self.span is None else iso_duration(self.span)

    def resolved(self, now: datetime, recorded: RecordedCutoff | None = None) -> ExcludeNewer:
        """A span made a timestamp: the recorded one when it was resolved for the same span,
        else `now` minus the span. A timestamp stays as it is."""
        if self.span is None:
            return self
        if recorded is not None and recorded.span == self.span:
            return replace(self, timestamp=recorded.timestamp)
        return replace(self, timestamp=(now - self.span).replace(microsecond=0))

    def meaning(self) -> str:
        """What the setting means, for the inputs fingerprint: a span by its length (a compile
        resolves it), a timestamp by its instant."""
        if self.span is not None:
            return f"span:{int(self.span.total_seconds())}"
        return f"at:{rfc3339(self.cutoff)}"


@dataclass(frozen=True)
class RecordedCutoff:
    """A cut-off as an earlier compile recorded it: the timestamp used and, for a span, the span."""

    timestamp: datetime
    span: timedelta | None = None


def parse_exclude_newer(text: str, origin: Location | None = None) -> ExcludeNewer:
    """Parse a value; raises `CutoffError` with what is wrong."""
    value = text.strip()
    if not value:
        raise CutoffError("the value is empty")
    if _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise CutoffError(f"'{value}' is not a date ({exc})") from None
        # The whole day counts: files uploaded on it are in, the cut-off is the next midnight (UTC).
        return ExcludeNewer(text, datetime.combine(day + timedelta(days=1), time(), UTC), origin=origin)
    if value[:4].isdigit() and len(value) > 10 and value[4] == "-":
        return ExcludeNewer(text, _timestamp(value), origin=origin)
    return ExcludeNewer(text, None, parse_span(value), origin)


def _timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CutoffError(f"'{value}' is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise CutoffError(f"the timestamp '{value}' has no time zone offset, so its instant depends on the machine")
    return parsed.astimezone(UTC)


def parse_span(value: str) -> timedelta:
    """A friendly (`7 days`) or ISO 8601 (`P7D`) duration; raises `CutoffError`."""
    lowered = value.lower()
    if lowered.startswith("p"):
        match = _ISO_DURATION.fullmatch(value.upper())
        if value.upper() in ("P", "PT") or match is None:
            if re.fullmatch(r"P(\d+Y)?(\d+M)?.*", value.upper()) and re.search(r"\d+[YM]", value.upper().split("T")[0]):
                raise CutoffError(f"'{value}' uses months or years, whose length varies; use days, e.g. P30D")
            raise CutoffError(f"'{value}' is not an ISO 8601 duration such as P7D or PT24H")
        weeks, days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
        return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    parts = [p for p in re.split(r"[,\s]+", lowered) if p]
    # "7 days" and "7days" and "1 week 2 days": join a number with the unit that follows it.
    joined = re.sub(r"(\d+)\s+([a-z]+)", r"\1\2", " ".join(parts))
    total = 0
    seen = False
    for token in joined.split():
        match = _FRIENDLY_PART.fullmatch(token)
        if match is None:
            raise CutoffError(f"'{value}' is neither a timestamp, a date nor a duration")
        number, unit = int(match.group(1)), match.group(2)
        if unit in _CALENDAR_UNITS:
            raise CutoffError(f"'{value}' uses {unit}, whose length varies; use days, e.g. '30 days'")
        if unit not in _UNITS:
            raise CutoffError(f"'{value}': unknown unit '{unit}' (use seconds, minutes, hours, days or weeks)")
        total += number * _UNITS[unit]
        seen = True
    if not seen:
        raise CutoffError(f"'{value}' is neither a timestamp, a date nor a duration")
    return timedelta(seconds=total)


def iso_duration(span: timedelta) -> str:
    """`timedelta(days=7)` -> `P7D`; `timedelta(hours=36)` -> `P1DT12H`; zero -> `PT0S`."""
    seconds = int(span.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    date_part = f"{days}D" if days else ""
    time_part = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    if not date_part and not time_part:
        return "PT0S"
    return "P" + date_part + (f"T{time_part}" if time_part else "")


def rfc3339(moment: datetime) -> str:
    """A UTC instant as RFC 3339 with `Z`, to the second or finer as given."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def parse_upload_time(text: str) -> datetime | None:
    """An index's PEP 700 `upload-time` (ISO 8601, `Z` or an offset); None when it does not parse."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # PEP 700 says UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
