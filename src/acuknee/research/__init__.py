"""The research network: pooled, de-identified outcomes across clinics (issue 6).

One row per course of care (``research_course``) and one per adverse event
(``research_adverse_event``), laid out in ``schema.py``. The clinical core decides each patient's
verdict once; SQL in the database engine pools them.
"""
