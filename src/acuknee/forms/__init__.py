"""Validated input for the clinical acts (Django forms).

One parser shared by the pages, the REST and FHIR writes and the CSV import.
"""
