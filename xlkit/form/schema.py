"""The spec language as a JSON Schema, strict about unknown keys: an editor completes and underlines a spec with it
(see docs/forms.md)."""

from __future__ import annotations

from typing import Any

from .spec import Block, Rule, Spec


def spec_schema() -> dict[str, Any]:
    """A JSON Schema of the spec language, strict about unknown keys (for an editor's completion and underlining)."""
    schema = Spec.model_json_schema(by_alias=True, mode="validation")
    for model in (Spec, Block, Rule):  # a key with an alias is accepted under either name (rules: or checks:)
        properties = schema["properties"] if model is Spec else schema["$defs"][model.__name__]["properties"]
        for name, info in model.model_fields.items():
            if info.alias and not name.endswith("_"):
                properties[name] = properties[info.alias]
    summary = schema["$defs"]["Summary"]  # a summary written before the themed sheets lists its columns flat
    summary["properties"]["columns"] = {"type": "array", "items": {"$ref": "#/$defs/SummaryColumn"}, "minItems": 1}
    summary["required"] = [k for k in summary["required"] if k != "sheets"]
    summary["oneOf"] = [{"required": ["sheets"]}, {"required": ["columns"]}]
    schema["title"] = "xlkit form spec"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
