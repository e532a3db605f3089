"""Plain data as the one-line YAML an imported file writes, and the ops' defaults as YAML values."""

from __future__ import annotations

from typing import Any

import yaml

from kzoo.ops import OPS

MISSING = object()  # an argument the op requires (it has no default)


def flow(value: Any) -> str:
    """``value`` as one line of flow-style YAML."""
    if value is MISSING:
        return "<no default>"
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10**9, sort_keys=False).strip().removesuffix("...").strip()
    )


def op_default(op: str, key: str) -> Any:
    """The default of an op's argument as the YAML would write it (a missing marker when it has none)."""
    fields = OPS.get(op).Args.model_fields
    if key not in fields or fields[key].is_required():
        return MISSING
    value = fields[key].get_default(call_default_factory=True)
    return value.to_yaml() if hasattr(value, "to_yaml") else value
