"""Where in the YAML a spec problem is: a spec path (`sheets[2].blocks[3].table.columns[0].formula`) turned back
into the line an analyst's editor shows, so every message reads `spec.yaml:201: sheets[2]…: what is wrong`.

Only used when something is wrong: the spec's text is composed again (with node positions) for the lookup."""

from __future__ import annotations

import re
from typing import Any

import yaml

PATH_PART = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")
SPEC_PATH = re.compile(r"^((?:[A-Za-z_][\w]*)(?:\[[^\]]*\]|\.[A-Za-z_][\w]*)*)(?=:)")


def path_parts(spec_path: str) -> list[str | int]:
    """`sheets[2].blocks[0].fields[1][0].type` -> ['sheets', 2, 'blocks', 0, 'fields', 1, 0, 'type']."""
    parts: list[str | int] = []
    for index, name in PATH_PART.findall(spec_path):
        if name:
            parts.append(name)
        elif index.isdigit():
            parts.append(int(index))
        else:
            parts.append(index)  # summary.sheets[收入]: an item named so
    return parts


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None


def line_of(text: str, parts: list[str | int] | tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest node the path reaches (a missing key: the mapping that lacks it)."""
    node = _compose(text)
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in parts:
        child = _child(node, part)
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value if not isinstance(value, yaml.ScalarNode) or value.value else key
        return None
    if isinstance(node, yaml.SequenceNode):
        if isinstance(part, int):
            return node.value[part] if 0 <= part < len(node.value) else None
        for item in node.value:  # an item named by its `name`
            if isinstance(item, yaml.MappingNode) and any(isinstance(k, yaml.ScalarNode) and k.value == "name" and v.value == part
                                                         for k, v in item.value):
                return item
    return None


def located(source: str, text: str, message: str) -> str:
    """`source:LINE: message` where the message starts with a spec path that the text has; else `source: message`."""
    match = SPEC_PATH.match(message)
    line = line_of(text, path_parts(match.group(1))) if match else None
    return f"{source}:{line}: {message}" if line else f"{source}: {message}"


def yaml_problem(source: str, exc: yaml.YAMLError) -> str:
    """A YAML syntax error as `source:LINE:COLUMN: not valid YAML: what` (the parser's own words, without its
    `<unicode string>` file name)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    what = " ".join(str(p) for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p) or str(exc)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    return f"{where}: 不是有效的 YAML：{what}"
