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
    """One visit: an appointment from ``start`` (time-zone aware: the clinic's zone) lasting
    ``minutes``, or, while its time is not booked, an all-day event on ``day``. Nothing
    identifying the patient: a calendar file leaves the clinic."""

    uid: str
    day: dt.date
    summary: str
    description: str = ""
    start: dt.datetime | None = None
    minutes: int = 0

    def __post_init__(self) -> None:
        if self.start is not None and (self.start.tzinfo is None or self.minutes <= 0):
            raise ValueError(
                f"event {self.uid}: an appointment needs a time zone and a length in minutes"
            )


def ics_calendar(events: Iterable[CalendarEvent], now: dt.datetime, name: str) -> bytes:
    """A VCALENDAR of VEVENTs, as UTF-8 bytes: booked visits as busy appointments in their
    time zone (``DTSTART;TZID=...`` with the zone's VTIMEZONE, so a calendar keeps the local
    time across a daylight-saving change), unbooked ones as transparent all-day events."""
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
        if event.start is not None:
            vevent.add("dtstart", event.start)
            vevent.add("dtend", event.start + dt.timedelta(minutes=event.minutes))
            vevent.add("transp", "OPAQUE")
        else:
            vevent.add("dtstart", event.day)
            vevent.add("dtend", event.day + dt.timedelta(days=1))
            vevent.add("transp", "TRANSPARENT")
        vevent.add("summary", event.summary)
        if event.description:
            vevent.add("description", event.description)
        calendar.add_component(vevent)
    calendar.add_missing_timezones()
    return calendar.to_ical()
