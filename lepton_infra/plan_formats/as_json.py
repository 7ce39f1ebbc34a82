"""``--format json`` (``--json``): the plan document, keys sorted and resources in URN order, so that two plans of
one commit print the same bytes: made to be committed and diffed (``lepton-infra diff`` reads it back)."""

from __future__ import annotations

import json
from typing import Any

from .terminal import Style


def render(doc: dict[str, Any], style: Style) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
