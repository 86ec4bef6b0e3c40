"""The care layer: the only code that turns database rows into core models and back, and the only
write path for a clinical act.

Adapters (clinic pages, the REST API, FHIR writes, the CSV import, the demo loader, reports and
research) call these queries and services and turn a ``CareError`` into their own answer in one
place. The record's invariants (a referral stands until its outcome is recorded, no clinical date
in the future, one number per session, stale edits refused) live here, so every adapter gets them.
"""
