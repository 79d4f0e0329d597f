"""Where a bureau's own forms are made known once: folders (or spec files) in XLKIT_FORMS, separated by os.pathsep,
which `xlkit --forms DIR` sets. Kept apart from the registry so that the command line reads it without loading specs."""

from __future__ import annotations

import os

FORMS_ENV = "XLKIT_FORMS"


def forms_folders() -> list[str]:
    return [part for part in os.environ.get(FORMS_ENV, "").split(os.pathsep) if part.strip()]
