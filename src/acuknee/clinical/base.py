"""The base model every clinical input and output shares: strict, immutable, JSON-friendly."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CoreModel(BaseModel):
    """Unknown fields are errors, so a typo in an intake is reported, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)
