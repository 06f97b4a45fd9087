"""SCF Timer trigger cron expressions (never deployed): the seven-field form
``second minute hour day month week year`` and the legacy five-field form ``minute hour day month week``,
as SCF's "Timer Trigger Description" documents them: ``,`` ``-`` ``*`` ``/`` in every field, months
``JAN``..``DEC``, weekdays ``SUN``..``SAT`` with 0 = Sunday; day and weekday both set combine with OR.

    Cron("0 */1 * * * * *").next_after(datetime(2026, 11, 24, 12, 0, 30, tzinfo=timezone.utc))
    # -> 2026-11-24 12:01:00+00:00
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["Cron", "CronError"]

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, low, high, names whose index + offset is the value)
FIELDS = (
    ("second", 0, 59, (), 0),
    ("minute", 0, 59, (), 0),
    ("hour", 0, 23, (), 0),
    ("day", 1, 31, (), 0),
    ("month", 1, 12, MONTHS, 1),
    ("week", 0, 6, WEEKDAYS, 0),
    ("year", 1970, 2099, (), 0),
)
SEARCH_LIMIT = timedelta(days=366 * 5)


class CronError(ValueError):
    """A cron expression SCF would refuse: the message names the field and the rule."""


class Cron:
    """A parsed expression; ``next_after`` finds the next second it fires."""

    def __init__(self, expression: str) -> None:
        parts = expression.split()
        if len(parts) == 5:
            parts = ["0", *parts, "*"]
        if len(parts) != 7:
            raise CronError(
                f"cron expression {expression!r} has {len(parts)} fields; SCF takes 7 "
                "(second minute hour day month week year) or 5 (minute hour day month week)"
            )
        self.expression = expression
        sets = [_field(text, *spec) for text, spec in zip(parts, FIELDS, strict=True)]
        self.second, self.minute, self.hour, self.day, self.month, self.week, self.year = sets
        self.day_any = parts[3] in ("*", "?")
        self.week_any = parts[5] in ("*", "?")

    def matches(self, moment: datetime) -> bool:
        """True when ``moment`` (to the second) is one the expression fires at."""
        return (
            moment.year in self.year
            and moment.month in self.month
            and self._day_matches(moment)
            and moment.hour in self.hour
            and moment.minute in self.minute
            and moment.second in self.second
        )

    def next_after(self, moment: datetime) -> datetime | None:
        """The first whole second after ``moment`` the expression matches; None within five years."""
        candidate = moment.replace(microsecond=0) + timedelta(seconds=1)
        limit = moment + SEARCH_LIMIT
        while candidate <= limit:
            if not (candidate.year in self.year and candidate.month in self.month):
                candidate = (
                    candidate.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)
                ).replace(day=1)
                continue
            if not self._day_matches(candidate):
                candidate = candidate.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            if candidate.hour not in self.hour:
                candidate = candidate.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if candidate.minute not in self.minute:
                candidate = candidate.replace(second=0) + timedelta(minutes=1)
                continue
            if candidate.second not in self.second:
                candidate += timedelta(seconds=1)
                continue
            return candidate
        return None

    def _day_matches(self, moment: datetime) -> bool:
        weekday = (moment.weekday() + 1) % 7
        if self.day_any or self.week_any:
            return moment.day in self.day and weekday in self.week
        return moment.day in self.day or weekday in self.week


def _field(text: str, name: str, low: int, high: int, names: tuple[str, ...], offset: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise CronError(f"{name}: the step in {part!r} must be a positive integer")
            step = int(step_text)
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = (
                _value(first, name, low, high, names, offset),
                _value(last, name, low, high, names, offset),
            )
            if start > end:
                raise CronError(f"{name}: the range {base!r} runs backwards")
        else:
            start = _value(base, name, low, high, names, offset)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, name: str, low: int, high: int, names: tuple[str, ...], offset: int) -> int:
    upper = text.upper()
    if upper in names:
        return names.index(upper) + offset
    if not text.isdigit():
        raise CronError(f"{name}: {text!r} is not a number between {low} and {high}")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name}: {value} is outside {low}..{high}")
    return value
