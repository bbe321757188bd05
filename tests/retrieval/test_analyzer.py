"""Query analysis: time expressions resolved against a fixed reference time, intent, entities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maia.retrieval.analyzer import (
    Intent,
    TimeRange,
    analyze,
    entities,
    intent_of,
    resolve_time,
)
from maia.retrieval.text import keywords

# Enough examples to find edge cases; few enough to keep the folder fast. No deadline:
# a loaded machine must not turn slowness into failures.
quick = settings(max_examples=60, deadline=None)

# Reference times. Weekdays checked in test_reference_times_are_what_the_table_assumes.
SAT = datetime(2026, 1, 3, 15, 30, tzinfo=UTC)  # Saturday, three days into a new year
SUN = datetime(2025, 6, 15, 9, 0, tzinfo=UTC)  # Sunday, mid-month
MON = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # Monday, just after a (non-leap) February
WED = datetime(2024, 7, 17, 12, 0, tzinfo=UTC)  # Wednesday, mid-month, leap year
MONTH_END = datetime(2024, 7, 31, 18, 0, tzinfo=UTC)  # a 31st: month arithmetic clamps
LEAP_DAY = datetime(2024, 2, 29, 6, 0, tzinfo=UTC)


def d(day: str | None) -> datetime | None:
    """``"2026-01-03"`` -> midnight UTC that day; None stays None (an open end)."""
    return None if day is None else datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_reference_times_are_what_the_table_assumes() -> None:
    assert [SAT.weekday(), SUN.weekday(), MON.weekday(), WED.weekday()] == [5, 6, 0, 2]


# (query, now, start, end, expression); expression None means "not checked".
TIME_CASES: list[tuple[str, datetime, str | None, str | None, str | None]] = [
    # Named days.
    ("what did I do today", SAT, "2026-01-03", "2026-01-04", "today"),
    ("yesterday", SAT, "2026-01-02", "2026-01-03", "yesterday"),
    ("yesterday", MON, "2025-03-02", "2025-03-03", "yesterday"),
    ("the day before yesterday", SAT, "2026-01-01", "2026-01-02", "the day before yesterday"),
    ("day before yesterday", WED, "2024-07-15", "2024-07-16", "day before yesterday"),
    ("what did I eat this morning?", SAT, "2026-01-03", "2026-01-04", "this morning"),
    ("last night", SAT, "2026-01-02", "2026-01-03", "last night"),
    ("Last night", datetime(2026, 1, 1, 7, tzinfo=UTC), "2025-12-31", "2026-01-01", None),
    ("tomorrow", SAT, "2026-01-04", "2026-01-05", "tomorrow"),
    ("earlier today", WED, "2024-07-17", "2024-07-18", "earlier today"),
    # N units ago: one calendar unit, N units back.
    ("3 days ago", MON, "2025-02-28", "2025-03-01", "3 days ago"),
    ("three days ago", SAT, "2025-12-31", "2026-01-01", "three days ago"),
    ("a day ago", SAT, "2026-01-02", "2026-01-03", "a day ago"),
    ("a few days ago", SAT, "2025-12-31", "2026-01-01", "a few days ago"),
    ("two weeks ago", MON, "2025-02-17", "2025-02-24", "two weeks ago"),
    ("a week ago", SAT, "2025-12-22", "2025-12-29", "a week ago"),
    ("a couple of weeks ago", SAT, "2025-12-15", "2025-12-22", "a couple of weeks ago"),
    ("a couple weeks ago", SAT, "2025-12-15", "2025-12-22", "a couple weeks ago"),
    ("a month ago", SAT, "2025-12-01", "2026-01-01", "a month ago"),
    ("a few months ago", SAT, "2025-10-01", "2025-11-01", "a few months ago"),
    ("12 months ago", MON, "2024-03-01", "2024-04-01", "12 months ago"),
    ("2 years ago", SAT, "2024-01-01", "2025-01-01", "2 years ago"),
    ("a year ago", LEAP_DAY, "2023-01-01", "2024-01-01", "a year ago"),
    # Rolling windows ending with today.
    ("in the last 7 days", SAT, "2025-12-28", "2026-01-04", "in the last 7 days"),
    ("in the past few days", SAT, "2026-01-01", "2026-01-04", "in the past few days"),
    ("in the past 2 weeks", SAT, "2025-12-20", "2026-01-04", "in the past 2 weeks"),
    ("in the last 3 months", SAT, "2025-10-03", "2026-01-04", "in the last 3 months"),
    ("over the past month", SAT, "2025-12-03", "2026-01-04", "over the past month"),
    ("in the last month", MONTH_END, "2024-06-30", "2024-08-01", "in the last month"),
    ("in the past year", LEAP_DAY, "2023-02-28", "2024-03-01", "in the past year"),
    ("what did I do the past week?", WED, "2024-07-10", "2024-07-18", "the past week"),
    ("past month", WED, "2024-06-17", "2024-07-18", "past month"),
    ("the last 3 days", WED, "2024-07-15", "2024-07-18", "the last 3 days"),
    # Calendar weeks (Monday first), months, years.
    ("last week", SAT, "2025-12-22", "2025-12-29", "last week"),
    ("this week", SAT, "2025-12-29", "2026-01-05", "this week"),
    ("next week", SAT, "2026-01-05", "2026-01-12", "next week"),
    ("this week", SUN, "2025-06-09", "2025-06-16", "this week"),
    ("last month", SAT, "2025-12-01", "2026-01-01", "last month"),
    ("this month", SAT, "2026-01-01", "2026-02-01", "this month"),
    ("next month", SAT, "2026-02-01", "2026-03-01", "next month"),
    ("last year", SAT, "2025-01-01", "2026-01-01", "last year"),
    ("this year", SAT, "2026-01-01", "2027-01-01", "this year"),
    ("next year", SAT, "2027-01-01", "2028-01-01", "next year"),
    # Weekends: Saturday and Sunday.
    ("last weekend", SAT, "2025-12-27", "2025-12-29", "last weekend"),
    ("this weekend", SAT, "2026-01-03", "2026-01-05", "this weekend"),
    ("last weekend", SUN, "2025-06-07", "2025-06-09", "last weekend"),
    ("this weekend", SUN, "2025-06-14", "2025-06-16", "this weekend"),
    ("last weekend", MON, "2025-03-01", "2025-03-03", "last weekend"),
    ("this weekend", WED, "2024-07-20", "2024-07-22", "this weekend"),
    ("next weekend", WED, "2024-07-27", "2024-07-29", "next weekend"),
    ("what did we do over the weekend?", WED, "2024-07-13", "2024-07-15", "over the weekend"),
    ("over the weekend", SUN, "2025-06-14", "2025-06-16", "over the weekend"),
    # Weekdays: bare and "on" mean the most recent one (today included).
    ("Monday", WED, "2024-07-15", "2024-07-16", "Monday"),
    ("on Friday", WED, "2024-07-12", "2024-07-13", "on Friday"),
    ("Wednesday", WED, "2024-07-17", "2024-07-18", "Wednesday"),
    ("last Wednesday", WED, "2024-07-10", "2024-07-11", "last Wednesday"),
    ("next Monday", WED, "2024-07-22", "2024-07-23", "next Monday"),
    ("this Saturday", WED, "2024-07-20", "2024-07-21", "this Saturday"),
    ("this Monday", WED, "2024-07-15", "2024-07-16", "this Monday"),
    ("on Monday", MON, "2025-03-03", "2025-03-04", "on Monday"),
    ("last Monday", MON, "2025-02-24", "2025-02-25", "last Monday"),
    ("on Sunday", MON, "2025-03-02", "2025-03-03", "on Sunday"),
    ("Sunday", SUN, "2025-06-15", "2025-06-16", "Sunday"),
    ("last Sunday", SUN, "2025-06-08", "2025-06-09", "last Sunday"),
    ("what happened last Thursday?", SAT, "2026-01-01", "2026-01-02", "last Thursday"),
    ("on Fri", SAT, "2026-01-02", "2026-01-03", "on Fri"),
    ("last sat", WED, "2024-07-13", "2024-07-14", "last sat"),
    # Month names: the most recent one that has begun, unless qualified.
    ("in May", WED, "2024-05-01", "2024-06-01", "May"),
    ("in July", WED, "2024-07-01", "2024-08-01", "July"),
    ("last July", WED, "2023-07-01", "2023-08-01", "last July"),
    ("last May", WED, "2024-05-01", "2024-06-01", "last May"),
    ("next July", WED, "2025-07-01", "2025-08-01", "next July"),
    ("this December", WED, "2024-12-01", "2025-01-01", "this December"),
    ("in December", SAT, "2025-12-01", "2026-01-01", "December"),
    ("last December", SAT, "2025-12-01", "2026-01-01", "last December"),
    ("in January", SAT, "2026-01-01", "2026-02-01", "January"),
    ("last January", SAT, "2025-01-01", "2025-02-01", "last January"),
    ("next January", SAT, "2027-01-01", "2027-02-01", "next January"),
    ("since May", WED, "2024-05-01", None, "May"),
    ("before May", WED, None, "2024-05-01", "May"),
    ("until May", WED, None, "2024-05-01", "May"),
    ("till June", WED, None, "2024-06-01", "June"),
    ("after May", WED, "2024-06-01", None, "May"),
    ("from March", SAT, "2025-03-01", None, "March"),
    # Months with years.
    ("May 2023", SAT, "2023-05-01", "2023-06-01", "May 2023"),
    ("in May 2023", SAT, "2023-05-01", "2023-06-01", "May 2023"),
    ("in May of 2023", SAT, "2023-05-01", "2023-06-01", "May of 2023"),
    ("Jan 2025", SAT, "2025-01-01", "2025-02-01", "Jan 2025"),
    ("since May 2023", SAT, "2023-05-01", None, "May 2023"),
    ("before March 2024", SAT, None, "2024-03-01", "March 2024"),
    # Absolute dates.
    ("2023-05-07", SAT, "2023-05-07", "2023-05-08", "2023-05-07"),
    ("2023/05/07", SAT, "2023-05-07", "2023-05-08", "2023/05/07"),
    ("05/07/2023", SAT, "2023-05-07", "2023-05-08", "05/07/2023"),
    ("5/7/23", SAT, "2023-05-07", "2023-05-08", "5/7/23"),
    ("25/12/2023", SAT, "2023-12-25", "2023-12-26", "25/12/2023"),
    ("12/25", SAT, "2025-12-25", "2025-12-26", "12/25"),
    ("2/29", SAT, "2024-02-29", "2024-03-01", "2/29"),
    ("7 May 2023", SAT, "2023-05-07", "2023-05-08", "7 May 2023"),
    ("May 7, 2023", SAT, "2023-05-07", "2023-05-08", "May 7, 2023"),
    ("May 7th", SAT, "2025-05-07", "2025-05-08", "May 7th"),
    ("the 7th of May", SAT, "2025-05-07", "2025-05-08", "7th of May"),
    ("8 May, 2023", SAT, "2023-05-08", "2023-05-09", "8 May, 2023"),
    ("Dec. 25", SAT, "2025-12-25", "2025-12-26", "Dec. 25"),
    ("Sept 5", SAT, "2025-09-05", "2025-09-06", "Sept 5"),
    ("Jan 2", SAT, "2026-01-02", "2026-01-03", "Jan 2"),
    ("Jan 4", SAT, "2025-01-04", "2025-01-05", "Jan 4"),
    ("Feb 29", SAT, "2024-02-29", "2024-03-01", "Feb 29"),
    ("December 31, 2025", SAT, "2025-12-31", "2026-01-01", "December 31, 2025"),
    ("Tuesday, May 7, 2023", SAT, "2023-05-07", "2023-05-08", "May 7, 2023"),
    ("since 2020-01-01", SAT, "2020-01-01", None, "2020-01-01"),
    ("after 2023-05-07", SAT, "2023-05-08", None, "2023-05-07"),
    # Years.
    ("in 2023", SAT, "2023-01-01", "2024-01-01", "2023"),
    ("during 2022", SAT, "2022-01-01", "2023-01-01", "2022"),
    ("before 2024", SAT, None, "2024-01-01", "2024"),
    ("prior to 2024", SAT, None, "2024-01-01", "2024"),
    ("since 2020", SAT, "2020-01-01", None, "2020"),
    ("after 2023", SAT, "2024-01-01", None, "2023"),
    # Vague recency: the last two weeks.
    ("recently", SAT, "2025-12-20", "2026-01-04", "recently"),
    ("what have I been reading lately?", WED, "2024-07-03", "2024-07-18", "lately"),
    # Open ends from a preposition before any expression.
    ("since yesterday", SAT, "2026-01-02", None, "yesterday"),
    ("since last month", SAT, "2025-12-01", None, "last month"),
    ("before last week", SAT, None, "2025-12-22", "last week"),
    ("until Monday", SAT, None, "2025-12-29", "Monday"),
    # Embedded in longer questions; the first expression wins.
    (
        "What did Melanie say about painting last week?",
        SAT,
        "2025-12-22",
        "2025-12-29",
        "last week",
    ),
    (
        "When did Caroline go to the LGBTQ support group 3 weeks ago?",
        SAT,
        "2025-12-08",
        "2025-12-15",
        "3 weeks ago",
    ),
    ("did I call mom yesterday or today?", SAT, "2026-01-02", "2026-01-03", "yesterday"),
    ("tell me what happened on 2024-12-24 at the party", SAT, "2024-12-24", "2024-12-25", None),
    ("Where did Bob go in March 2024 with Alice?", SAT, "2024-03-01", "2024-04-01", None),
    ("what did  I do   last\nweek", WED, "2024-07-08", "2024-07-15", "last week"),
    ("this may sound odd, but what happened in May?", WED, "2024-05-01", "2024-06-01", "May"),
    # A month or weekday qualified by the year or week after it.
    ("what did I do in May last year", SAT, "2025-05-01", "2025-06-01", "May last year"),
    ("in December, last year", WED, "2023-12-01", "2024-01-01", "December, last year"),
    ("in March this year", SAT, "2026-03-01", "2026-04-01", "March this year"),
    ("in May next year", WED, "2025-05-01", "2025-06-01", "May next year"),
    ("on Friday last week", SAT, "2025-12-26", "2025-12-27", "on Friday last week"),
    ("Friday of next week", SAT, "2026-01-09", "2026-01-10", "Friday of next week"),
    ("on Monday this week", SUN, "2025-06-09", "2025-06-10", "on Monday this week"),
    ("on Sunday of last week", MON, "2025-03-02", "2025-03-03", "on Sunday of last week"),
    # Slash dates near the words that make a fraction no date.
    ("on 24/7/2023", WED, "2023-07-24", "2023-07-25", "24/7/2023"),
    ("what happened 12/25 of 2023", WED, "2023-12-25", "2023-12-26", "12/25"),
    ("the invoice dated 3/4/2024 of the supplier", WED, "2024-03-04", "2024-03-05", "3/4/2024"),
    ("on 5/6/2024 hours after", WED, "2024-05-06", "2024-05-07", "5/6/2024"),
    ("the 7/4 Oz concert", WED, "2024-07-04", "2024-07-05", "7/4"),
]


@pytest.mark.parametrize(
    ("query", "now", "start", "end", "expression"),
    TIME_CASES,
    ids=[f"{case[0]}@{case[1]:%a %Y-%m-%d}" for case in TIME_CASES],
)
def test_resolve_time(
    query: str, now: datetime, start: str | None, end: str | None, expression: str | None
) -> None:
    found = resolve_time(query, now)
    assert found is not None
    assert (found.start, found.end) == (d(start), d(end))
    if expression is not None:
        assert found.expression == expression


def test_the_table_is_large_and_covers_each_reference_time() -> None:
    assert len(TIME_CASES) >= 60
    assert {SAT, SUN, MON, WED} <= {case[1] for case in TIME_CASES}


NO_TIME = [
    "",
    "Tell me about the trip to Paris",
    "How long ago did I move?",
    "what is my favourite colour?",
    "I sat on the bench by the lake",
    "the sun was hot",
    "they wed in a small chapel",
    "This may take a while",
    "I may go",
    "may I ask something",
    "we bought 2 dogs and a cat",
    "the 99/99 split",
    "the Berlin 2023 trip",  # "…in 2023" only after the word "in"
    "2023-13-45",
    "add 1/2 cup of sugar",
    "3/4 of the way there",
    "the shop is open 24/7",
    "version 1.2/3 of the spec",
    "the fall of Rome",
    "I fall asleep early",
    "spring cleaning tips",
    "Summer said hi",
    "version 1.12.2024.3",
    "pi is 3.14",
]


@pytest.mark.parametrize("query", NO_TIME)
def test_queries_without_time(query: str) -> None:
    assert resolve_time(query, WED) is None


def test_days_are_the_callers_at_the_offset_of_now() -> None:
    """01:00 on the 3rd at UTC+05:00 (20:00 on the 2nd in UTC): "today" is the caller's
    3rd, from its midnight (19:00 UTC on the 2nd)."""
    now = datetime(2026, 1, 3, 1, 0, tzinfo=timezone(timedelta(hours=5)))
    found = resolve_time("today", now)
    assert found is not None
    assert (found.start, found.end) == (
        datetime(2026, 1, 2, 19, tzinfo=UTC),
        datetime(2026, 1, 3, 19, tzinfo=UTC),
    )
    # Friday 21:00 in San Francisco (05:00 on Saturday in UTC).
    friday_evening = datetime(2024, 3, 15, 21, 0, tzinfo=timezone(timedelta(hours=-8)))
    spans = {
        q: resolve_time(q, friday_evening)
        for q in ("yesterday", "this morning", "last Friday", "the past 3 days")
    }
    assert spans["yesterday"] == TimeRange(
        datetime(2024, 3, 14, 8, tzinfo=UTC), datetime(2024, 3, 15, 8, tzinfo=UTC), "yesterday"
    )
    morning = spans["this morning"]
    assert morning is not None
    # (read as the caller's whole day: the analyzer's finest unit is a day)
    assert morning.contains(datetime(2024, 3, 15, 7, 30, tzinfo=timezone(timedelta(hours=-8))))
    assert not morning.contains(datetime(2024, 3, 16, 7, 30, tzinfo=timezone(timedelta(hours=-8))))
    last_friday = spans["last Friday"]
    assert last_friday is not None
    assert last_friday.start == datetime(2024, 3, 8, 8, tzinfo=UTC)  # the 8th, not today
    past = spans["the past 3 days"]
    assert past is not None
    assert past.end is None or past.end >= friday_evening


# Friday 2024-03-15, 14:00 UTC: ranges between two times, fortnights and hours, parts
# of a month (loose ones are the whole month; its first and last weeks are exact).
FRIDAY_AFTERNOON = datetime(2024, 3, 15, 14, tzinfo=UTC)
SPANS = [
    ("what did I do between May and July", "2023-05-01", "2023-08-01"),
    ("from Monday to Wednesday", "2024-03-11", "2024-03-14"),
    ("between 2023-05-01 and 2023-06-01", "2023-05-01", "2023-06-02"),
    ("what happened from January to March this year", "2024-01-01", "2024-04-01"),
    ("what did Bob say from May to July last year", "2023-05-01", "2023-08-01"),
    ("between May and July for the trip?", "2023-05-01", "2023-08-01"),
    ("from last Monday to today", "2024-03-11", "2024-03-16"),
    ("from work to home yesterday", "2024-03-14", "2024-03-15"),  # one end is no time
    ("what did I do a fortnight ago", "2024-02-26", "2024-03-04"),  # the week 2 back
    ("two fortnights ago", "2024-02-12", "2024-02-19"),
    ("over the last fortnight", "2024-03-01", "2024-03-16"),
    ("in the past 24 hours", "2024-03-14T14:00", "2024-03-16"),
    ("the last 3 hours", "2024-03-15T11:00", "2024-03-16"),
    ("the last hour", "2024-03-15T13:00", "2024-03-16"),
    ("3 hours ago", "2024-03-15T10:00", "2024-03-15T12:00"),  # an hour either side
    ("an hour ago", "2024-03-15T12:00", "2024-03-15T14:00"),
    ("what did I do in early March", "2024-03-01", "2024-04-01"),
    ("mid-March", "2024-03-01", "2024-04-01"),
    ("late May", "2023-05-01", "2023-06-01"),  # the most recent May that has begun
    ("at the end of February", "2024-02-01", "2024-03-01"),
    ("the first week of March", "2024-03-01", "2024-03-08"),
    ("the last week of January", "2024-01-25", "2024-02-01"),
    ("at the end of May last year", "2023-05-01", "2023-06-01"),
    ("in early June 2023", "2023-06-01", "2023-07-01"),
    # Seasons (meteorological, northern hemisphere): with a qualifier, after a
    # preposition or with their year; a winter is its January's year's.
    ("what did I do last summer", "2023-06-01", "2023-09-01"),
    ("last winter", "2023-12-01", "2024-03-01"),  # just over
    ("this winter", "2023-12-01", "2024-03-01"),  # nearer than the coming one
    ("this summer", "2024-06-01", "2024-09-01"),  # nearer than the last one
    ("this spring", "2024-03-01", "2024-06-01"),
    ("next summer", "2024-06-01", "2024-09-01"),
    ("in the summer of 2022", "2022-06-01", "2022-09-01"),
    ("winter 2023", "2022-12-01", "2023-03-01"),
    ("during the fall", "2023-09-01", "2023-12-01"),  # the latest begun
    ("in the fall of 2021", "2021-09-01", "2021-12-01"),
    ("in spring", "2024-03-01", "2024-06-01"),
    ("autumn last year", "2023-09-01", "2023-12-01"),
    ("see you in summer 2024!", "2024-06-01", "2024-09-01"),
    # Dotted dates: day first, unless only the second number can be a day.
    ("on 12.03.2024", "2024-03-12", "2024-03-13"),
    ("03.25.2024", "2024-03-25", "2024-03-26"),
    ("2024.03.12", "2024-03-12", "2024-03-13"),
]


@pytest.mark.parametrize(("query", "start", "end"), SPANS)
def test_spans(query: str, start: str, end: str) -> None:
    found = resolve_time(query, FRIDAY_AFTERNOON)
    assert found is not None
    assert (found.start, found.end) == (
        datetime.fromisoformat(start).replace(tzinfo=UTC),
        datetime.fromisoformat(end).replace(tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "query",
    ["between March and January", "it may be early, may be late"],  # wrong order; the verb
)
def test_no_span(query: str) -> None:
    assert resolve_time(query, FRIDAY_AFTERNOON) is None


def test_naive_now_is_taken_as_utc() -> None:
    found = resolve_time("yesterday", datetime(2026, 1, 3, 23, 59))
    assert found is not None
    assert found.start == d("2026-01-02")
    assert found.start is not None
    assert found.start.tzinfo is UTC


def test_time_range_contains_is_half_open() -> None:
    closed = TimeRange(d("2024-05-01"), d("2024-06-01"), "May")
    assert closed.contains(datetime(2024, 5, 1, tzinfo=UTC))
    assert closed.contains(datetime(2024, 5, 31, 23, 59, 59, tzinfo=UTC))
    assert not closed.contains(datetime(2024, 6, 1, tzinfo=UTC))
    assert not closed.contains(datetime(2024, 4, 30, 23, 59, tzinfo=UTC))
    since = TimeRange(d("2024-05-01"), None, "May")
    assert since.contains(datetime(2999, 1, 1, tzinfo=UTC))
    assert not since.contains(datetime(2024, 4, 30, tzinfo=UTC))
    before = TimeRange(None, d("2024-05-01"), "May")
    assert before.contains(datetime(1970, 1, 1, tzinfo=UTC))
    assert not before.contains(datetime(2024, 5, 1, tzinfo=UTC))


# Any reference time between 2001 and 2098, at any time of day.
moments = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31), timezones=st.just(UTC)
)


def _range(query: str, now: datetime) -> tuple[datetime, datetime]:
    found = resolve_time(query, now)
    assert found is not None
    assert found.start is not None
    assert found.end is not None
    return found.start, found.end


@quick
@given(now=moments)
def test_relative_ranges_hold_for_any_reference_time(now: datetime) -> None:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    day = timedelta(days=1)
    assert _range("today", now) == (midnight, midnight + day)
    assert _range("yesterday", now) == (midnight - day, midnight)
    assert _range("tomorrow", now) == (midnight + day, midnight + 2 * day)
    assert _range("5 days ago", now) == (midnight - 5 * day, midnight - 4 * day)

    week_start, week_end = _range("this week", now)
    assert week_start.weekday() == 0
    assert week_end - week_start == 7 * day
    assert week_start <= now < week_end
    assert _range("last week", now) == (week_start - 7 * day, week_start)
    assert _range("next week", now) == (week_end, week_end + 7 * day)

    month_start, month_end = _range("this month", now)
    assert month_start == midnight.replace(day=1)
    assert month_end.day == 1
    assert month_start <= now < month_end
    last_start, last_end = _range("last month", now)
    assert last_end == month_start
    assert last_start.day == 1
    assert (last_end - last_start).days in (28, 29, 30, 31)

    assert _range("this year", now) == (
        datetime(now.year, 1, 1, tzinfo=UTC),
        datetime(now.year + 1, 1, 1, tzinfo=UTC),
    )

    saturday, after = _range("this weekend", now)
    assert saturday.weekday() == 5
    assert after - saturday == 2 * day
    assert week_start <= saturday < week_end
    assert _range("last weekend", now) == (saturday - 7 * day, after - 7 * day)
    latest, _ = _range("over the weekend", now)
    assert latest <= now < latest + 7 * day

    for n in (1, 3, 30):
        start, end = _range(f"in the last {n} days", now)
        assert (start, end) == (midnight - (n - 1) * day, midnight + day)
    start, end = _range("in the past 3 months", now)
    assert end == midnight + day
    assert 89 <= (end - start).days <= 93


@quick
@given(now=moments, name=st.sampled_from(["spring", "summer", "autumn", "winter"]))
def test_season_ranges_for_any_reference_time(now: datetime, name: str) -> None:
    """Three months each; the last one is over, the next not begun, and this one the
    current or the nearer of those two."""
    start, end = _range(f"in the {name}", now)  # the latest begun
    assert start <= now
    assert (end - start).days in range(89, 93)
    assert start.day == 1
    last = _range(f"last {name}", now)
    assert last[1] <= now < last[1] + timedelta(days=366)
    coming = _range(f"next {name}", now)
    assert now < coming[0] <= now + timedelta(days=366)
    assert _range(f"this {name}", now) in ((start, end), coming)


@quick
@given(now=moments, name=st.sampled_from(["Monday", "Wednesday", "Saturday", "Sunday"]))
def test_weekday_ranges_for_any_reference_time(now: datetime, name: str) -> None:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    target = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    bare, _ = _range(f"on {name}", now)
    assert bare.weekday() == target.index(name)
    assert midnight - timedelta(days=6) <= bare <= midnight  # the most recent one
    last, _ = _range(f"last {name}", now)
    assert last.weekday() == target.index(name)
    assert midnight - timedelta(days=7) <= last < midnight  # never today
    upcoming, _ = _range(f"next {name}", now)
    assert midnight < upcoming <= midnight + timedelta(days=7)


# Intent.

INTENT_CASES: list[tuple[str, Intent]] = [
    ("What did Melanie say about painting?", Intent.QUESTION),
    ("Where does Alice live?", Intent.QUESTION),
    ("Is Bob coming to the party?", Intent.QUESTION),
    ("who is John", Intent.QUESTION),
    ("Can you tell me about Bob?", Intent.QUESTION),
    ("Bob likes tea?", Intent.QUESTION),
    ("When did Caroline go to the support group?", Intent.TEMPORAL),
    ("when is the dentist appointment", Intent.TEMPORAL),
    ("How long ago did I start at Google?", Intent.TEMPORAL),
    ("What year did we move to Berlin?", Intent.TEMPORAL),
    ("Since when has Bob worked at IBM?", Intent.TEMPORAL),
    ("what did I say about the budget", Intent.RECALL),
    ("What did we mention about the launch?", Intent.RECALL),
    ("Remind me what Bob's favourite food is", Intent.RECALL),
    ("remind me about the dentist", Intent.RECALL),
    ("Do you remember Alice?", Intent.RECALL),
    ("Did I ever mention my cat?", Intent.RECALL),
    ("What do you know about Tokyo?", Intent.RECALL),
    ("find notes about Project Apollo", Intent.COMMAND),
    ("Show me everything Alice said", Intent.COMMAND),
    ("show my tasks", Intent.COMMAND),
    ("list all memories", Intent.COMMAND),
    ("Summarize last week", Intent.COMMAND),
    ("Please find Alice's notes", Intent.COMMAND),
    ("Please, when did Bob call?", Intent.TEMPORAL),
    ("I like pizza", Intent.STATEMENT),
    ("Melanie's kids love the beach.", Intent.STATEMENT),
    ("", Intent.STATEMENT),
    ("   ", Intent.STATEMENT),
]


@pytest.mark.parametrize(("query", "intent"), INTENT_CASES)
def test_intent(query: str, intent: Intent) -> None:
    assert intent_of(query) is intent


# Entities.

ENTITY_CASES: list[tuple[str, list[str]]] = [
    ("What did Melanie say about painting?", ["Melanie"]),
    ("Melanie went hiking", ["Melanie"]),  # a name opening the sentence counts
    ("Melanie's kids love the beach", ["Melanie"]),
    ("Where is Melanie’s bike?", ["Melanie"]),
    ("Thomas' bike is red", ["Thomas"]),
    ("Caroline went to Paris on Monday", ["Caroline", "Paris"]),
    ("Find notes about Project Apollo", ["Project Apollo"]),
    ("The meeting with Bob Smith went well", ["Bob Smith"]),
    ("Today I met Jane Doe at the Apple Store", ["Jane Doe", "Apple Store"]),
    ("I met O'Brien at the pub", ["O'Brien"]),
    ('"machine learning" is my favourite topic', ["machine learning"]),
    ("Tell me about “deep work” habits", ["deep work"]),
    ('"Project Apollo" slipped; Project Apollo is late', ["Project Apollo"]),
    ("Bob called Bob", ["Bob"]),
    ("When did I last see Alice in May?", ["Alice"]),
    ("What did I do on Sunday?", []),
    ("On Sunday Alice went out", ["Alice"]),
    ("Search Alice's notes", ["Alice"]),
    ("So Alice went home", ["Alice"]),
    ("Since January Bob has been running", ["Bob"]),
    ("Remember that Bob likes tea", ["Bob"]),
    ("Hi there", []),
    ("Yesterday Bob called", ["Bob"]),
    ("The cat sat on The Mat", ["Mat"]),
    ("What Is The Plan", ["Plan"]),
    ("I", []),
    ("when where why how", []),
    ("", []),
    # Contractions, number and time words, and sentence adverbs open no name.
    ("Didn't Caroline go hiking?", ["Caroline"]),
    ("I'm asking where Caroline went", ["Caroline"]),
    ("Two weeks ago Caroline went out", ["Caroline"]),
    ("Recently Caroline went hiking", ["Caroline"]),
    ("Apparently Bob moved", ["Bob"]),
    ("Kelly went home", ["Kelly"]),  # a name may end in -ly
    # A capital need not be ASCII; a lower-case letter that is not opens no name.
    ("What did Émile say?", ["Émile"]),
    ("Ask Øyvind about the école near Caroline", ["Øyvind", "Caroline"]),
]


@pytest.mark.parametrize(("query", "expected"), ENTITY_CASES)
def test_entities(query: str, expected: list[str]) -> None:
    assert entities(query) == expected


@pytest.mark.parametrize(
    "word",
    [
        "What", "When", "Where", "Who", "Why", "How", "Which",
        "May", "January", "Dec", "Monday", "Sunday", "Sat",
        "The", "And", "About", "This", "Last", "Today", "Yesterday", "Please",
    ],
)  # fmt: skip
def test_question_words_months_weekdays_and_stop_words_are_not_entities(word: str) -> None:
    assert entities(f"{word} Alice") == ["Alice"]
    assert entities(word) == []


def test_analyze_combines_every_part() -> None:
    query = "When did Melanie paint a sunrise last May?"
    result = analyze(query, WED)
    assert result.query == query
    assert result.intent is Intent.TEMPORAL
    assert result.entities == ("Melanie",)
    assert result.keywords == tuple(keywords(query))
    assert "sunrise" in result.keywords
    assert "did" not in result.keywords
    assert result.time == TimeRange(d("2024-05-01"), d("2024-06-01"), "last May")


def test_analyze_without_time_or_entities() -> None:
    result = analyze("find my notes about soup", SAT)
    assert result.intent is Intent.COMMAND
    assert result.entities == ()
    assert result.time is None
    assert result.keywords == ("find", "notes", "soup")


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("in the last 0 days", "2024-07-17", "2024-07-18"),  # today, not an empty range
        ("on 2 may", "2024-05-02", "2024-05-03"),
        ("I think 2 may be enough", None, None),  # the verb
        ("we met on 5/7/2023", "2023-05-07", "2023-05-08"),
        ("what happened at 2023-05-07T10:00:00Z", "2023-05-07", "2023-05-08"),
        ("since 2023-05-07T10:00:00.5+02:00", "2023-05-07", None),
    ],
)
def test_edge_phrasings(query: str, start: str | None, end: str | None) -> None:
    found = resolve_time(query, WED)
    if start is None:
        assert found is None
    else:
        assert found is not None
        assert (found.start, found.end) == (d(start), d(end))
