"""Reports: what the clinic shows or prints about a course of care, built from core models.

Pure like ``acuknee.clinical`` (no Django, no database): each report takes the core's models and
the knowledge base and returns text (SVG, HTML), so it can be used and tested without a server.

- ``diagrams``: the knee diagrams (``knee_diagram``), a plan's points on four views of the knee.
  Errors: ``DiagramError`` (a ``ValueError``) for an unknown point code, view or side.
"""

from acuknee.reports.diagrams import VIEWS, DiagramError, knee_diagram, views_showing

__all__ = ["VIEWS", "DiagramError", "knee_diagram", "views_showing"]
