"""A plan's visits as an iCalendar file (RFC 5545), written by the ``icalendar`` library.

The library does the escaping, line folding at 75 octets and CRLF endings the standard asks for,
so calendar clients read what we write; this module only says which events there are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import icalendar


@dataclass(frozen=True)
class CalendarEvent:
    """One all-day visit. Nothing identifying the patient: a calendar file leaves the clinic."""

    uid: str
    day: dt.date
    summary: str
    description: str = ""


def ics_calendar(events: Iterable[CalendarEvent], now: dt.datetime, name: str) -> bytes:
    """A VCALENDAR of all-day, transparent VEVENTs, as UTF-8 bytes."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//acuknee//clinic schedule//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    stamp = now.astimezone(dt.UTC)
    for event in events:
        vevent = icalendar.Event()
        vevent.add("uid", event.uid)
        vevent.add("dtstamp", stamp)
        vevent.add("dtstart", event.day)
        vevent.add("dtend", event.day + dt.timedelta(days=1))
        vevent.add("summary", event.summary)
        if event.description:
            vevent.add("description", event.description)
        vevent.add("transp", "TRANSPARENT")
        calendar.add_component(vevent)
    return calendar.to_ical()
