"""Rules on an entry's `changes`: the list a reader sees as the page's history and in the feed.

Each item is `{date: YYYY-MM-DD, summary: <one plain sentence>}`, newest first. The schema checks
the form of the date; these rules check what it cannot: a day that exists, not after today, the
order of the list, and a summary a reader can read at a glance. The maintainers' vocabulary in a
summary is KB485 (allokb.rules.readers), as in every other reader-facing text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from allokb.diagnostics import Diagnostic, make
from allokb.graph import KnowledgeBase
from allokb.model import ChangeNote, Citation, Intervention, Mechanism
from allokb.rules.catalogue import rule

#: a change's summary has at most this many words
SUMMARY_WORDS = 30


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _records(kb: KnowledgeBase) -> list[Intervention | Mechanism | Citation]:
    return [*kb.interventions.values(), *kb.mechanisms.values(), *kb.citations.values()]


def _notes(kb: KnowledgeBase) -> Iterator[tuple[Intervention | Mechanism | Citation, int, ChangeNote]]:
    for record in _records(kb):
        for i, note in enumerate(record.changes):
            yield record, i, note


@rule("KB530")
def check_changes_order(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """An entry's `changes` are listed newest first: an item dated later than the item before it is
    out of order (two items may share a date). The page's history and the feed show them in the
    order written."""
    for record in _records(kb):
        for before, note in zip(record.changes, record.changes[1:]):
            if _day(before.date) and _day(note.date) and note.date > before.date:
                yield make("KB530", f"the change of {note.date} is listed after the change of {before.date}: "
                           "`changes` are newest first", note.location, "move it above the older change")


@rule("KB531")
def check_change_dates(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """A change's `date` is a day of the calendar (`2026-02-30` is written like a date, but there
    is no such day)."""
    for _, _, note in _notes(kb):
        if _day(note.date) is None:
            yield make("KB531", f"`{note.date}` is not a day of the calendar", note.location,
                       "write the date of the change, YYYY-MM-DD")


@rule("KB532")
def check_change_future(kb: KnowledgeBase, today: dt.date | None = None) -> Iterator[Diagnostic]:
    """A change's `date` is not after today (UTC, when the check runs): a change is recorded
    when it is made."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    for _, _, note in _notes(kb):
        day = _day(note.date)
        if day is not None and day > today:
            yield make("KB532", f"the change is dated {note.date}, a day that has not come yet", note.location,
                       "write the date the change was made")


@rule("KB533")
def check_change_summary(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """A change has a `summary`: what changed, for a reader, in one plain sentence (an empty or
    blank summary would show the reader a date and nothing else)."""
    for _, _, note in _notes(kb):
        if not note.summary.strip():
            yield make("KB533", "the change has an empty summary", note.summary_location,
                       "say what changed for a reader, e.g. \"Added a bottom line and a label summary.\"")


@rule("KB534")
def check_change_summary_length(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """A change's `summary` has at most 30 words (runs of characters between spaces): one plain
    sentence a reader takes in at a glance in the page's history and the feed."""
    for _, _, note in _notes(kb):
        words = len(note.summary.split())
        if words > SUMMARY_WORDS:
            yield make("KB534", f"the summary has {words} words, expected at most {SUMMARY_WORDS}",
                       note.summary_location, "say what changed for a reader; the detail is on the page")


#: the rules on `changes`, in the order they run
CHANGES_RULES = (check_changes_order, check_change_dates, check_change_future, check_change_summary,
                 check_change_summary_length)
