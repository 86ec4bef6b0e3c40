"""The clinical core's one exception tree.

- ``ClinicalError``: base of everything the core raises on purpose.
  - ``InvalidInput``: an input (intake, answers, course) is wrong; ``field`` names where,
    ``problem`` what. ``InvalidInputs`` carries several at once.
  - ``KnowledgeError``: the knowledge base is inconsistent (a broken cross-reference, a missing
    source); raised at load time so a bad data file fails the build, never a consultation.
  - ``PlanRefused`` is not an exception: a refused plan is a normal answer (see ``planning``).
"""

from __future__ import annotations


class ClinicalError(Exception):
    """Base class for errors raised by acuknee.clinical."""


class InvalidInput(ClinicalError):
    """An input value is invalid; names the field (dotted path) and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.problem}


class InvalidInputs(ClinicalError):
    """Several invalid values at once, so a form can show every field-level error together."""

    def __init__(self, errors: list[InvalidInput]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))

    def as_list(self) -> list[dict[str, str]]:
        return [e.as_dict() for e in self.errors]


class KnowledgeError(ClinicalError):
    """The knowledge base failed validation or a cross-reference check."""
