"""Operational commands (`manage.py load_demo`, `run_export`, ...): the jobs a deployment runs."""
