"""What every part of the spec model shares: strict, frozen models, and the shapes of ids and keys."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

FIELD_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_#{}*]+)*$")
KEY = re.compile(r"^[a-z_][a-z0-9_{}]*$")


class Model(BaseModel):
    """Unknown keys are refused (a misspelt key is an error, not ignored); a loaded spec never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
