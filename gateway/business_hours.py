"""Business time between two instants, as helpdesk SLA tools count it.

`business_hours = "Mon-Fri 09:00-17:00"` and `timezone = "Europe/Berlin"`: a
customer who writes on Friday at 16:00 and gets the answer on Monday at 10:00
waited 2 business hours (66 calendar hours). Days are walked in the policy's
time zone, so a DST change shortens or lengthens that day's window as the wall
clock says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DAY = timedelta(days=1)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(
    r"^\s*(?P<days>[a-z]{3}(?:\s*-\s*[a-z]{3})?(?:\s*,\s*[a-z]{3}(?:\s*-\s*[a-z]{3})?)*)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$",
    re.IGNORECASE,
)


def _day_set(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ValueError(f"{part!r} is not a day or range of days (Mon, Tue, ... Sun)")
        start, end = _DAYS.index(first), _DAYS.index(last or first)
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    return frozenset(days)


def _clock(text: str) -> time | None:
    """HH:MM; None stands for 24:00, the end of the day."""
    hour, minute = (int(part) for part in text.split(":"))
    if hour == 24 and minute == 0:
        return None
    return time(hour, minute)


@dataclass(frozen=True, slots=True)
class BusinessHours:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time | None  # None: midnight at the end of the day
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, zone_name: str) -> BusinessHours:
        """'Mon-Fri 09:00-17:00' (days may be lists: 'Mon-Thu,Sat 08:00-12:00') in a zone."""
        match = _SPEC.match(spec)
        if match is None:
            raise ValueError(f"{spec!r} is not like 'Mon-Fri 09:00-17:00'")
        try:
            start, end = _clock(match["start"]), _clock(match["end"])
        except ValueError as exc:
            raise ValueError(f"{spec!r}: a time is not HH:MM ({exc})") from exc
        if start is None or (end is not None and start >= end):
            raise ValueError(f"{spec!r}: the day must end after it starts")
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{zone_name!r} is not a time zone such as Europe/Berlin") from exc
        return cls(_day_set(match["days"]), start, end, zone)

    def seconds_between(self, begin: datetime, finish: datetime) -> float:
        """Business seconds from `begin` to `finish` (both aware); 0 if finish <= begin."""
        if finish <= begin:
            return 0.0
        begin_utc, finish_utc = begin.astimezone(UTC), finish.astimezone(UTC)
        total = 0.0
        day: date = begin.astimezone(self.zone).date()
        while day <= finish.astimezone(self.zone).date():
            if day.weekday() in self.days:
                # Wall-clock opening hours of that day, compared in UTC (DST-safe).
                opens = datetime.combine(day, self.start, self.zone).astimezone(UTC)
                closing_day, closing = (day, self.end) if self.end else (day + _DAY, time(0))
                closes = datetime.combine(closing_day, closing, self.zone).astimezone(UTC)
                low, high = max(opens, begin_utc), min(closes, finish_utc)
                if high > low:
                    total += (high - low).total_seconds()
            day += _DAY
        return total
