"""acuknee.clinical: the pure clinical core (see README.md in this folder).

The public API is the six arrows of DESIGN.md's data flow, each a pure function:
``screen``, ``assess``, ``plan``, ``score``, ``evaluate`` and ``stricta``, plus
``load_knowledge`` for the sourced knowledge base they all read.
"""

from acuknee.clinical.assessment import Assessment, assess
from acuknee.clinical.errors import ClinicalError, InvalidInput, InvalidInputs, KnowledgeError
from acuknee.clinical.instruments import Scores, score
from acuknee.clinical.intake import Intake
from acuknee.clinical.knowledge import KnowledgeBase, load_knowledge
from acuknee.clinical.planning import Plan, plan
from acuknee.clinical.response import Course, Evaluation, evaluate
from acuknee.clinical.screening import Screening, screen
from acuknee.clinical.sessions import SessionRecord
from acuknee.clinical.stricta import StrictaReport, stricta

__all__ = [
    "Assessment",
    "ClinicalError",
    "Course",
    "Evaluation",
    "Intake",
    "InvalidInput",
    "InvalidInputs",
    "KnowledgeBase",
    "KnowledgeError",
    "Plan",
    "Scores",
    "Screening",
    "SessionRecord",
    "StrictaReport",
    "assess",
    "evaluate",
    "load_knowledge",
    "plan",
    "score",
    "screen",
    "stricta",
]
