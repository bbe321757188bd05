"""Query analysis: intent, entities, keywords and time, resolved against a reference time.

Pure: ``analyze(query, now)`` does no I/O. Time expressions ("yesterday", "last May",
"3 weeks ago", "2023-05-07", "since Monday") become a half-open UTC range
``[start, end)`` that retrieval uses as a boost (or a filter when asked).
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from maia.retrieval.text import STOP_WORDS, keywords, words
from maia.store.timestamps import to_micros


class Intent(StrEnum):
    QUESTION = "question"
    TEMPORAL = "temporal"  # asks *when* something happened
    RECALL = "recall"  # asks what was said or stored ("what did I say about ...")
    COMMAND = "command"
    STATEMENT = "statement"


@dataclass(frozen=True, slots=True)
class TimeRange:
    start: datetime | None
    end: datetime | None
    expression: str

    def contains(self, moment: datetime) -> bool:
        start, end = self.micros()
        return start <= to_micros(moment) < end

    def micros(self) -> tuple[float, float]:
        """``[start, end)`` in microseconds since the epoch, an open end infinite: what
        ranking compares the stored times with."""
        return (
            -math.inf if self.start is None else to_micros(self.start),
            math.inf if self.end is None else to_micros(self.end),
        )


@dataclass(frozen=True, slots=True)
class QueryAnalysis:
    query: str
    intent: Intent
    keywords: tuple[str, ...]
    entities: tuple[str, ...]
    time: TimeRange | None

    @property
    def time_led(self) -> bool:
        """Whether the period is what the query asks about ("what did I do yesterday",
        "what happened in October", "what did Sam do last weekend"): besides its time
        words and names, only words that frame a question about events."""
        if self.time is None:
            return False
        aside = {*words(self.time.expression), *_EVENT_FRAMING}
        aside.update(w for name in self.entities for w in words(name))
        return all(k in aside for k in self.keywords)


MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
WEEKDAYS = {
    name: i
    for i, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ]
    )
    for name in names
}
NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "couple": 2, "a couple": 2, "couple of": 2, "a couple of": 2, "few": 3, "a few": 3,
    "several": 3,
}  # fmt: skip
UNITS = {"day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month",
         "months": "month", "year": "year", "years": "year"}  # fmt: skip

# Meteorological seasons of the northern hemisphere, by the month each begins. A winter
# belongs to the year of its January: "winter 2023" runs from December 2022 to February.
SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}

_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
# "fall" is also a verb and "the fall of Rome" no season: only before a year, if "of".
_SEASON_RE = r"spring|summer|autumn|winter|fall(?! of (?!\d{4}\b))"
# Full weekday names stand alone; the abbreviations are also words ("I sat", "the sun",
# "they wed"), so they count only right after a qualifier or "on".
_WEEKDAY_RE = "|".join(n for n in WEEKDAYS if n.endswith("day"))
_WEEKDAY_ABBR_RE = "|".join(
    sorted((n for n in WEEKDAYS if not n.endswith("day")), key=len, reverse=True)
)
_AFTER_QUALIFIER = (
    "(?:"
    + "|".join(f"(?<=\\b{word} )" for word in ("last", "past", "previous", "this", "next", "on"))
    + ")"
)
_NUMBER_RE = r"\d+|" + "|".join(sorted(NUMBERS, key=len, reverse=True))
_UNIT_RE = "days?|weeks?|months?|years?"
_ORD = r"(?:st|nd|rd|th)?"
# Words after a fraction ("1/2 cup", "3/4 of the way") that make it no date ("12/25 of
# 2023" stays one); lower case only ("7/4 Oz concert" is a date).
_MEASURE = (
    r"cups?|teaspoons?|tsp|tablespoons?|tbsp|inch(?:es)?|feet|foot|miles?|km|kilometers?|"
    r"kilometres?|meters?|metres?|hours?|hrs?|minutes?|pounds?|lbs?|oz|ounces?|kg|grams?|g|"
    r"liters?|litres?|ml|gallons?|pints?|quarts?|of(?! (?:\d{4}|(?:last|this|next) year)\b)"
)
_VERB_AFTER_MAY = "(?:be|have|not|also|well|need|want|take|help|get|come|go|make|seem)"
# A weekday directly followed by a date ("Tuesday, May 7, 2023"): the date decides.
_DATE_AHEAD = (
    rf",? (?:(?:the )?\d{{1,2}}{_ORD}(?: of)? (?:{_MONTH_RE})\b"
    rf"|(?:{_MONTH_RE})\.? \d|\d{{1,4}}[-/]\d)"
)
# A calendar unit named after a month or weekday: "in May last year", "on Friday of
# last week".
_TRAILING = ",? (?:of )?(?P<tq>last|previous|this|next) "
_TRAILING_YEAR, _TRAILING_WEEK = _TRAILING + "year", _TRAILING + "week"
# Matches right after a preposition without consuming it, so "before"/"since" stay
# visible to the open-range check. The word must start there too ("Berlin 2023" is no
# "in 2023").
_AFTER_PREPOSITION = (
    "(?:"
    + "|".join(
        f"(?<=\\b{word} )"
        for word in ("in", "during", "since", "before", "after", "until", "till", "from")
    )
    + "|(?<=\\bprior to )"
    + ")"
)

_QUESTION_WORDS = frozenset("what when where who whom whose which why how".split())
_COMMAND_VERBS = frozenset(
    """
    find show list tell give get search fetch recall remind summarize summarise describe
    explain lookup look retrieve display
    """.split()
)
_NOT_ENTITIES = (
    STOP_WORDS
    | _QUESTION_WORDS
    | _COMMAND_VERBS
    | frozenset(MONTHS)
    | frozenset(WEEKDAYS)
    | frozenset("today yesterday tomorrow tonight last next this ago since until please ok".split())
    | frozenset(NUMBERS)
    | frozenset(UNITS)
    | frozenset("recently lately earlier later".split())
)
# Words that open a sentence, capitalised there, but are no name; inside a name ("Apple
# Store", "Health Check") they stay.
_OPENERS = frozenset(
    """
    hi hello hey thanks thank sorry yes yeah okay also maybe actually anyway well now
    note remember save store add forget delete update check help let say ask
    apparently basically honestly frankly seriously really clearly obviously probably
    possibly hopefully finally usually generally certainly definitely suddenly eventually
    originally personally literally currently previously initially ideally unfortunately
    fortunately luckily surprisingly interestingly naturally normally typically
    """.split()
)


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _month_start(year: int, month: int) -> datetime:
    while month > 12:
        year, month = year + 1, month - 12
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=UTC)


def _span(start: datetime, unit: str) -> tuple[datetime, datetime]:
    """The calendar day/week/month/year that begins at ``start``."""
    if unit == "day":
        return start, start + timedelta(days=1)
    if unit == "week":
        return start, start + timedelta(days=7)
    if unit == "month":
        return start, _month_start(start.year, start.month + 1)
    return start, datetime(start.year + 1, 1, 1, tzinfo=UTC)


def _unit_start(moment: datetime, unit: str) -> datetime:
    day = _day(moment)
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return _month_start(day.year, day.month)
    if unit == "year":
        return datetime(day.year, 1, 1, tzinfo=UTC)
    return day


def _relative(which: str, unit: str, now: datetime) -> tuple[datetime, datetime]:
    """The calendar ``unit`` that "last", "this" or "next" names."""
    this = _unit_start(now, unit)
    which = which.lower()
    if which in ("last", "previous", "past"):
        return _span(_unit_start(this - timedelta(days=1), unit), unit)
    if which == "next":
        return _span(_span(this, unit)[1], unit)
    return _span(this, unit)


def _named_month_year(month: int, trailing: str | None, now: datetime) -> int:
    """The year of a month named alone ("in May": the most recent May that has begun)
    or with its year after it ("in May last year")."""
    if trailing:
        return _unit_start(_relative(trailing, "year", now)[0], "year").year
    return now.year if month <= now.month else now.year - 1


def _season(name: str, year: int) -> tuple[datetime, datetime]:
    """Season ``name`` of ``year``: its three months."""
    first = SEASONS[name]
    start = _month_start(year - 1 if first == 12 else year, first)
    return start, _month_start(start.year, start.month + 3)


def _named_season(name: str, which: str, now: datetime) -> tuple[datetime, datetime]:
    """The season that "last", "this" or "next" names (``which`` empty: the latest that
    has begun, as "in May" is). "This" is the current one, else the nearer of the last
    and the next ("this winter" in March: the one just over; in October: the coming)."""
    year = now.year + 1
    while _season(name, year)[0] > now:  # the latest that has begun
        year -= 1
    start, end = _season(name, year)
    if which in ("last", "past", "previous"):
        return (start, end) if end <= now else _season(name, year - 1)
    if which == "next":
        return _season(name, year + 1)
    if which == "this" and end <= now:
        coming = _season(name, year + 1)
        return coming if coming[0] - now < now - end else (start, end)
    return start, end


def _days_in(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _shift(moment: datetime, unit: str, amount: int) -> datetime:
    """``moment`` minus ``amount`` units; the day is clamped to the target month's length."""
    if unit == "day":
        return moment - timedelta(days=amount)
    if unit == "week":
        return moment - timedelta(weeks=amount)
    if unit == "month":
        start = _month_start(moment.year, moment.month - amount)
        return start.replace(day=min(moment.day, _days_in(start.year, start.month)))
    year = moment.year - amount
    return moment.replace(year=year, day=min(moment.day, _days_in(year, moment.month)))


def _number(text: str) -> int:
    text = text.strip().lower()
    return int(text) if text.isdigit() else NUMBERS[text]


def _year_for(month: int, day: int, now: datetime) -> int:
    """The most recent year in which month/day exists and is not in the future."""
    year = now.year if (month, day) <= (now.month, now.day) else now.year - 1
    for candidate in range(year, year - 8, -1):  # February 29th: the last leap year
        if _date(candidate, month, day) is not None:
            return candidate
    return year


def _date(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def _rules() -> list[tuple[re.Pattern[str], object]]:
    def r(pattern: str) -> re.Pattern[str]:
        return re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)

    def iso(m: re.Match[str], now: datetime) -> tuple[datetime, datetime] | None:
        start = _date(int(m["y"]), int(m["m"]), int(m["d"]))
        return None if start is None else _span(start, "day")

    def slash(m: re.Match[str], now: datetime) -> tuple[datetime, datetime] | None:
        month, day = int(m["m"]), int(m["d"])
        if month > 12 >= day:  # "25/12/2023" can only be day/month
            month, day = day, month
        year = int(m["y"]) if m["y"] else _year_for(month, day, now)
        year += 2000 if year < 100 else 0
        start = _date(year, month, day)
        return None if start is None else _span(start, "day")

    def dotted(m: re.Match[str], now: datetime) -> tuple[datetime, datetime] | None:
        """Day first ("12.03.2024"), unless only the second number can be a day."""
        day, month = int(m["d"]), int(m["m"])
        if month > 12 >= day:
            month, day = day, month
        start = _date(int(m["y"]), month, day)
        return None if start is None else _span(start, "day")

    def day_month(m: re.Match[str], now: datetime) -> tuple[datetime, datetime] | None:
        month, day = MONTHS[m["mon"].lower()], int(m["d"])
        year = int(m["y"]) if m["y"] else _year_for(month, day, now)
        start = _date(year, month, day)
        return None if start is None else _span(start, "day")

    def month_year(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        return _span(_month_start(int(m["y"]), MONTHS[m["mon"].lower()]), "month")

    def month_only(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        month = MONTHS[m["mon"].lower()]
        qualifier = (m["q"] or "").lower()
        if m["tq"] or not qualifier:  # "in May", "in May last year"
            year = _named_month_year(month, m["tq"], now)
        elif qualifier == "this":
            year = now.year
        elif qualifier == "next":
            year = now.year if month > now.month else now.year + 1
        else:  # "last May": the most recent May before this month
            year = now.year if month < now.month else now.year - 1
        return _span(_month_start(year, month), "month")

    def part_of_month(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        """ "The first week of March" (days 1-7) and "the last week of March" (its last
        7); "early", "mid", "late", "the beginning" or "the end of March": the whole
        month (people use them loosely: a narrower boost missed more than it found)."""
        month = MONTHS[m["mon"].lower()]
        year = int(m["y"]) if m["y"] else _named_month_year(month, m["tq"], now)
        start, end = _span(_month_start(year, month), "month")
        part = " ".join(m["part"].lower().split()).removeprefix("the ")
        if part == "first week of":
            return start, start + timedelta(days=7)
        if part == "last week of":
            return end - timedelta(days=7), end
        return start, end

    def year_only(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        return _span(datetime(int(m["y"]), 1, 1, tzinfo=UTC), "year")

    def named_day(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        word = m[0].lower().replace("the ", "")
        offset = {"today": 0, "tonight": 0, "yesterday": 1, "day before yesterday": 2,
                  "tomorrow": -1, "earlier today": 0, "this morning": 0,
                  "this afternoon": 0, "this evening": 0, "last night": 1}[word]  # fmt: skip
        return _span(_day(now) - timedelta(days=offset), "day")

    def ago(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        unit = UNITS[m["unit"].lower()]
        return _span(_unit_start(_shift(now, unit, _number(m["n"])), unit), unit)

    def fortnights_ago(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        weeks = 2 * _number(m["n"])
        return _span(_unit_start(_shift(now, "week", weeks), "week"), "week")

    def last_fortnight(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        return _shift(_day(now), "week", 2), _day(now) + timedelta(days=1)

    def hours_ago(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        """About that long ago: an hour either side."""
        hours = _number(m["n"])
        return now - timedelta(hours=hours + 1), now - timedelta(hours=max(hours - 1, 0))

    def last_hours(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        hours = 1 if not m["n"] else _number(m["n"])
        return now - timedelta(hours=hours), _day(now) + timedelta(days=1)

    def within(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        unit = UNITS[m["unit"].lower()]
        amount = max(_number(m["n"]) if m["n"] else 1, 1)  # "the last 0 days": today
        return _shift(_day(now), unit, amount if unit != "day" else amount - 1), _day(
            now
        ) + timedelta(days=1)

    def relative_unit(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        return _relative(m["which"], UNITS[m["unit"].lower()], now)

    def weekend(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        saturday = _unit_start(now, "week") + timedelta(days=5)  # this week's
        which = m["which"].lower()
        if which in ("last", "past", "previous"):
            saturday -= timedelta(days=7)
        elif which == "next":
            saturday += timedelta(days=7)
        elif which != "this" and saturday > now:  # "over the weekend": the latest begun
            saturday -= timedelta(days=7)
        return saturday, saturday + timedelta(days=2)

    def weekday(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        target = WEEKDAYS[m["wd"].lower()]
        if m["tq"]:  # "on Friday last week": that week's Friday
            week = _relative(m["tq"], "week", now)[0]
            return _span(week + timedelta(days=target), "day")
        back = (_day(now).weekday() - target) % 7
        qualifier = (m["q"] or "").lower()
        if back == 0 and qualifier in ("last", "past", "previous"):
            back = 7
        if qualifier == "this":  # the one in the current (Monday-first) week
            back = _day(now).weekday() - target
        if qualifier == "next":
            back = -((target - _day(now).weekday()) % 7 or 7)
        return _span(_day(now) - timedelta(days=back), "day")

    def season(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        name = m["season"].lower()
        found = m.groupdict()
        if found.get("y"):
            return _season(name, int(found["y"]))
        if found.get("tq"):  # "the summer of last year"
            return _season(name, _relative(found["tq"], "year", now)[0].year)
        return _named_season(name, (found.get("q") or "").lower(), now)

    def recently(m: re.Match[str], now: datetime) -> tuple[datetime, datetime]:
        return _day(now) - timedelta(days=14), _day(now) + timedelta(days=1)

    return [
        (
            # A time of day after the date ("2023-05-07T10:00:00Z") is part of it.
            r(
                r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
                r"(?:T\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
            ),
            iso,
        ),
        (
            # Without a year, not a fraction of a measure ("1/2 cup") nor "24/7".
            r(
                r"(?<![\d/.])(?P<m>\d{1,2})/(?P<d>\d{1,2})"
                r"(?:/(?P<y>\d{4}|\d{2})(?![\d/])"
                rf"|(?![\d/])(?<!\b24/7)(?! (?-i:{_MEASURE})\b))"
            ),
            slash,
        ),
        (
            # Not within a longer dotted number ("version 1.12.2024.3").
            r(r"(?<![\d.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})(?!\.?\d)"),
            dotted,
        ),
        (
            # "2 may be enough": a lowercase "may" before a verb is one.
            r(
                rf"(?P<d>\d{{1,2}}){_ORD}(?: of)? (?!(?-i:may) {_VERB_AFTER_MAY}\b)"
                rf"(?P<mon>{_MONTH_RE})\.?,?(?: (?P<y>\d{{4}}))?"
            ),
            day_month,
        ),
        (r(rf"(?P<mon>{_MONTH_RE})\.? (?P<d>\d{{1,2}}){_ORD}(?:,? (?P<y>\d{{4}}))?"), day_month),
        (r(rf"(?P<mon>{_MONTH_RE})\.?(?:,| of)? (?P<y>\d{{4}})"), month_year),
        (
            r(
                r"the day before yesterday|day before yesterday|earlier today|this morning|"
                r"this afternoon|this evening|last night|yesterday|today|tonight|tomorrow"
            ),
            named_day,
        ),
        (
            r(
                r"(?P<part>early|mid|late|(?:the )?(?:end|beginning|start|middle|first week"
                r"|last week) of)[- ]"
                # (lowercase "may" is the verb: "early may be fine")
                rf"(?!(?-i:may)\b)(?P<mon>{_MONTH_RE})(?:{_TRAILING_YEAR}|,? (?P<y>\d{{4}}))?"
            ),
            part_of_month,
        ),
        (r(rf"(?P<n>{_NUMBER_RE}) (?P<unit>{_UNIT_RE}) ago"), ago),
        (r(rf"(?P<n>{_NUMBER_RE}) fortnights? ago"), fortnights_ago),
        (r(r"(?:the )?(?:last|past|previous) fortnight"), last_fortnight),
        (r(rf"(?P<n>{_NUMBER_RE}) hours? ago"), hours_ago),
        (r(rf"(?:the )?(?:last|past) (?:(?P<n>{_NUMBER_RE}) hours|hour)"), last_hours),
        (
            r(
                rf"(?:in|over|during|within) the (?:last|past) "
                rf"(?:(?P<n>{_NUMBER_RE}) )?(?P<unit>{_UNIT_RE})"
            ),
            within,
        ),
        (
            # "the last 3 days", "past 3 days", "the past week": rolling, like "in the ...";
            # a bare "last week" is the calendar week (below).
            r(
                rf"(?:(?:the )?(?:last|past) (?P<n>{_NUMBER_RE}) |the (?:last|past) |past )"
                rf"(?P<unit>{_UNIT_RE})"
            ),
            within,
        ),
        (r(r"(?P<which>last|past|previous|this|next|over the|during the) weekend"), weekend),
        (r(r"(?P<which>last|previous|this|next) (?P<unit>week|month|year)"), relative_unit),
        (
            r(
                rf"(?:(?P<q>last|past|previous|this|next) |on )?"
                rf"(?P<wd>{_WEEKDAY_RE}|{_AFTER_QUALIFIER}(?:{_WEEKDAY_ABBR_RE}))"
                rf"(?!{_DATE_AHEAD})(?:{_TRAILING_WEEK})?"
            ),
            weekday,
        ),
        (
            # "this may" in lowercase is the verb ("this may take a while").
            r(
                rf"(?:(?P<q>last|this|next) (?!(?<=this )(?-i:may)\b)|{_AFTER_PREPOSITION})"
                rf"(?P<mon>{_MONTH_RE})(?!\.?(?:,| of)? ?\d)"
                rf"(?:{_TRAILING_YEAR})?"
            ),
            month_only,
        ),
        (r(rf"{_AFTER_PREPOSITION}(?P<y>(?:19|20)\d{{2}})"), year_only),
        # A season with a qualifier, after a preposition, or with its year.
        (r(rf"(?P<q>last|past|previous|this|next) (?P<season>{_SEASON_RE})"), season),
        (
            r(
                rf"{_AFTER_PREPOSITION}(?:the )?(?P<season>{_SEASON_RE})"
                rf"(?:(?: of)?,? (?P<y>\d{{4}})|{_TRAILING_YEAR})?"
            ),
            season,
        ),
        (
            r(
                rf"(?:the )?(?P<season>{_SEASON_RE})"
                rf"(?:(?: of)?,? (?P<y>\d{{4}})|{_TRAILING_YEAR})"
            ),
            season,
        ),
        (r(r"recently|lately|the other day"), recently),
    ]


_RULES = _rules()
_OPEN_START = re.compile(r"\b(?:since|from)\s+$", re.IGNORECASE)
_AFTER = re.compile(r"\bafter\s+$", re.IGNORECASE)
_OPEN_END = re.compile(r"\b(?:before|until|till|prior to)\s+$", re.IGNORECASE)
# "between May and July", "from Monday to Wednesday", "from 2023-05-01 until 2023-06-01".
_RANGE = re.compile(
    r"\b(?:between|from)\s+(?P<first>.+?)\s+(?:and|to|until|till|through)\s+(?P<last>.+)",
    re.IGNORECASE,
)


def resolve_time(query: str, now: datetime) -> TimeRange | None:
    """The first time expression in ``query`` as a UTC range, or None. Days, weeks and
    months are the caller's: they begin at midnight at ``now``'s UTC offset."""
    offset = now.utcoffset() or timedelta(0)
    # Worked out on the caller's wall clock (labelled UTC), then moved back by the offset.
    now = now.replace(tzinfo=UTC)
    found = _resolve_time(" ".join(query.split()), now)  # the patterns expect single spaces
    if found is None or not offset:
        return found
    return TimeRange(_shifted(found.start, offset), _shifted(found.end, offset), found.expression)


def _shifted(moment: datetime | None, offset: timedelta) -> datetime | None:
    """``moment`` on a wall clock ``offset`` ahead of UTC, in UTC (open past the ends
    of the calendar)."""
    if moment is None:
        return None
    try:
        return moment - offset
    except OverflowError:
        return None


def _resolve_time(query: str, now: datetime) -> TimeRange | None:
    """A range between two expressions ("between May and July": the start of the first
    to the end of the second), else the first expression."""
    for match in _RANGE.finditer(query):
        first = _range_end(match["first"], now, whole=True)
        last = _range_end(match["last"], now, whole=False)
        if first is None or last is None or first.start is None or last.end is None:
            continue
        if first.start < last.end:
            expression = query[match.start() : match.start("last")] + last.expression
            return TimeRange(first.start, last.end, expression)
    return _first_time(query, now)


def _range_end(part: str, now: datetime, *, whole: bool) -> TimeRange | None:
    """One end of a range: ``part`` is a time expression (``whole``) or begins with one.
    A bare month or weekday reads as after "in" or "on" ("between May and July")."""
    part = part.strip()
    for prefix in ("", "in ", "on "):
        found = _first_time(prefix + part, now)
        if found is None:
            continue
        said = found.expression.lower().removeprefix("in ").removeprefix("on ")
        if part.lower() == said or (not whole and part.lower().startswith(said + " ")):
            return found
    return None


def _first_time(query: str, now: datetime) -> TimeRange | None:
    best: tuple[int, TimeRange] | None = None
    for pattern, resolve in _RULES:
        match = pattern.search(query)
        if match is None or (best is not None and match.start() >= best[0]):
            continue
        try:
            span = resolve(match, now)  # type: ignore[operator]
        except (KeyError, ValueError, OverflowError):
            span = None
        if span is None:
            continue
        start, end = span
        before = query[: match.start()]
        if _AFTER.search(before):  # after the whole span: "after May" starts in June
            start, end = end, None
        elif _OPEN_START.search(before):
            end = None
        elif _OPEN_END.search(before):
            start, end = None, start
        best = (match.start(), TimeRange(start, end, match[0]))
    return None if best is None else best[1]


# A capital: ASCII, or any other letter (kept only if upper case: "Émile", not "école").
_CAPITAL = r"(?:[A-Z]|[^\x00-\x7f\W\d_])"
_ENTITY = re.compile(rf"\b{_CAPITAL}[\w'’-]*(?:\s+{_CAPITAL}[\w'’-]*)*")
_QUOTED = re.compile(r"[\"“]([^\"”]{2,60})[\"”]")
_RECALL = re.compile(
    r"\b(?:what did (?:i|we|you) (?:say|tell|mention|write|note)|do you remember|remind me|"
    r"did i (?:ever )?(?:say|mention|tell)|recall|what do you know about)\b",
    re.IGNORECASE,
)
_TEMPORAL = re.compile(
    r"^\s*(?:when\b|what (?:time|day|date|year|month)\b|how long ago\b|since when\b)",
    re.IGNORECASE,
)


_CLITIC = re.compile(r"(?:n['’]t|['’](?:s|m|ve|ll|d|re))$")


def _bare(word: str) -> str:
    """``"Alice's"`` -> ``"alice"``, ``"Didn't"`` -> ``"did"``: a word without its
    possessive or contraction, for list look-ups."""
    return _CLITIC.sub("", word.lower()).strip("'’")


def _capitalised(words: list[str]) -> Iterator[list[str]]:
    """The runs of ``words`` that begin with an upper-case letter."""
    run: list[str] = []
    for word in words:
        if word[0].isupper():
            run.append(word)
        elif run:
            yield run
            run = []
    if run:
        yield run


def entities(query: str) -> list[str]:
    """Names in the query: capitalised runs (not sentence starters) and quoted phrases."""
    found: list[str] = [m.group(1).strip() for m in _QUOTED.finditer(query)]
    runs = (run for m in _ENTITY.finditer(query) for run in _capitalised(m.group(0).split()))
    for run in runs:
        parts = [p for p in run if _bare(p) not in _NOT_ENTITIES]
        while parts and _bare(parts[0]) in _OPENERS:
            parts.pop(0)
        name = " ".join(parts)
        name = name.removesuffix("'s").removesuffix("’s").rstrip("'’")
        if name and name.lower() not in _NOT_ENTITIES and len(name) > 1:
            found.append(name)
    return list(dict.fromkeys(found))


_POLITE = re.compile(r"^\s*(?:please|pls|kindly)\b[,!.]?\s*", re.IGNORECASE)


def intent_of(query: str) -> Intent:
    stripped = _POLITE.sub("", query).strip()
    first = stripped.split(maxsplit=1)[0].lower().strip(",.!?:") if stripped else ""
    if _RECALL.search(stripped):
        return Intent.RECALL
    if _TEMPORAL.search(stripped):
        return Intent.TEMPORAL
    if first in _QUESTION_WORDS or stripped.endswith("?"):
        return Intent.QUESTION
    if first in ("is", "are", "was", "were", "do", "does", "did", "has", "have", "can", "will"):
        return Intent.QUESTION
    if first in _COMMAND_VERBS:
        return Intent.COMMAND
    return Intent.STATEMENT


# Words that ask about whatever happened, not about a topic.
_EVENT_FRAMING = frozenset(
    "happen happened happens happening go went going gone anything something everything "
    "doing done plans planned".split()
)


def analyze(query: str, now: datetime) -> QueryAnalysis:
    return QueryAnalysis(
        query=query,
        intent=intent_of(query),
        keywords=tuple(keywords(query)),
        entities=tuple(entities(query)),
        time=resolve_time(query, now),
    )
