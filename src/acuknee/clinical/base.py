"""The base model every clinical input and output shares: strict, immutable, JSON-friendly."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CoreModel(BaseModel):
    """Unknown fields are errors, so a typo in an intake is reported, not silently ignored; no
    clinical number is infinite or not a number, so ``inf`` and ``nan`` are refused wherever a
    float is read (an infinite electroacupuncture frequency once reached the database, which
    refused it as if the session had been saved twice)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_enum_values=False, allow_inf_nan=False
    )
