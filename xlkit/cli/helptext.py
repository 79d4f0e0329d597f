"""`--help` in Chinese: click's own words (用法：, 选项：, 命令：, the help and version options, [默认：…], [必填], ranges)
and lines wrapped by the columns a terminal gives Chinese characters (two each), not by their count.

Every command and group of the CLI is made by `command` and `group` below: their context's formatter says the headings,
their options' notes are written here, the help option says 显示本帮助并退出。 Nothing of click is patched; click's
English only reaches a formatter through its heading names, translated in HEADINGS.
"""

from __future__ import annotations

import inspect
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

import click

HEADINGS = {"Options": "选项", "Commands": "命令", "Positional arguments": "参数", "Arguments": "参数"}
HELP_OPTION = "显示本帮助并退出。"
VERSION_OPTION = "显示版本并退出。"
VERSION_MESSAGE = "%(prog)s 版本 %(version)s"

# a space run, a bracketed note kept whole ([默认：120；取值 1 到 3600]), a word of other scripts, one CJK character
_TOKEN = re.compile(r"\s+|\[[^\[\]\s]{1,40}(?: [^\[\]\s]{1,40}){0,4}\]|[^\s\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]+|.")
_NO_START = set("，。；：、）」』》？！…%,.;:)]")  # never at a line's start (the character before goes down with it)
_NO_END = set("（「『《([")  # never at a line's end


def columns(text: str) -> int:
    """The terminal columns TEXT takes: two for a wide (CJK) character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def unwrap(text: str) -> str:
    """Join a docstring paragraph's lines: nothing between two Chinese characters, a space otherwise."""
    out = ""
    for line in (part.strip() for part in text.splitlines()):
        if not line:
            continue
        out += line if not out or (_wide(out[-1]) and _wide(line[0])) else " " + line
    return out


def wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """Lines of at most WIDTH columns (a word longer than a line stands alone), a Chinese line broken between characters
    but never before closing or after opening punctuation; FIRST and REST lead the first and following lines."""
    lines: list[list[str]] = [[]]
    used = columns(first)
    space = False
    for token in _TOKEN.findall(unwrap(text)):
        if token.isspace():
            space = bool(lines[-1])
            continue
        gap = 1 if space else 0
        space = False
        line = lines[-1]
        if line and used + gap + columns(token) > width:
            carried: list[str] = []
            head = token
            while head[0] in _NO_START and len(line) > 1:  # 「（disable）、」: both closing marks go down, and the word
                head = line.pop()
                carried.insert(0, head)
            while len(line) > 1 and line[-1][-1] in _NO_END:
                carried.insert(0, line.pop())
            while line and line[-1] == " ":
                line.pop()
            while carried and carried[0] == " ":
                carried.pop(0)
            lines.append(carried)
            used, gap = columns(rest) + columns("".join(carried)), 0
        if gap:
            lines[-1].append(" ")
        lines[-1].append(token)
        used += gap + columns(token)
    texts = ["".join(line).strip() for line in lines]
    return [(first if n == 0 else rest) + line for n, line in enumerate(texts)]


class Formatter(click.HelpFormatter):
    """click's help formatter with the headings, the usage line and the wrapping said and measured for Chinese."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        lead = f"{'':>{self.current_indent}}{'用法：' if prefix is None else prefix}{prog} "
        self.write("\n".join(wrap(args, self.width, lead, " " * columns(lead))).rstrip() + "\n")

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{HEADINGS.get(heading, heading)}：\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        paragraphs = re.split(r"\n\s*\n", inspect.cleandoc(text))
        self.write("\n\n".join("\n".join(wrap(p, self.width, indent, indent)) for p in paragraphs) + "\n")

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((columns(term) for term, _ in rows), default=0), col_max) + col_spacing
        indent = " " * self.current_indent
        for term, text in rows:
            if not text:
                self.write(f"{indent}{term}\n")
                continue
            lead = " " * (first_col + self.current_indent)
            if columns(term) <= first_col - col_spacing:
                head = f"{indent}{term}" + " " * (first_col - columns(term))
            else:
                self.write(f"{indent}{term}\n")
                head = lead
            self.write("\n".join(wrap(text, self.width, head, lead)) + "\n")


class Context(click.Context):
    formatter_class = Formatter


def _range(kind: object) -> str:
    """IntRange/FloatRange's bounds as words: 取值 1 到 64, 至少 1, 大于 0."""
    if not isinstance(kind, (click.IntRange, click.FloatRange)):
        return ""
    low, high = kind.min, kind.max
    if low is not None and high is not None:
        return f"取值 {low} 到 {high}" + ("（不含两端）" if kind.min_open and kind.max_open else "（不含下限）" if kind.min_open
                                             else "（不含上限）" if kind.max_open else "")
    if low is not None:
        return f"{'大于' if kind.min_open else '至少'} {low}"
    if high is not None:
        return f"{'小于' if kind.max_open else '至多'} {high}"
    return ""


def option_help(option: click.Option, ctx: click.Context) -> str:
    """The option's help with click's bracketed notes in Chinese: [默认：…；取值 … 到 …；必填]."""
    notes = []
    if isinstance(option.show_default, str):
        notes.append(f"默认：{option.show_default}")
    elif option.show_default or (option.show_default is None and ctx.show_default):
        default = option.get_default(ctx, call=False)
        if callable(default):
            notes.append("默认：运行时决定")
        elif default not in (None, "", (), []) and not (option.is_flag and option.is_bool_flag):
            notes.append("默认：" + (", ".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)))
    if rule := _range(option.type):
        notes.append(rule)
    if option.required:
        notes.append("必填")
    text = option.help or ""
    return f"{text}  [{'；'.join(notes)}]" if notes else text


class Command(click.Command):
    """A command whose help is Chinese: its context's formatter, its options' notes, its short help."""

    context_class = Context

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_OPTION
        return option

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None and isinstance(param, click.Option):
                rows.append((record[0], option_help(param, ctx)))
        if rows:
            with formatter.section("选项"):
                formatter.write_dl(rows)

    def get_short_help_str(self, limit: int = 45) -> str:
        """The docstring's first sentence (to its 。), whole when it fits; click's own cut looks for an English full stop."""
        text = self.short_help or unwrap((self.help or "").split("\n\n")[0]).split("。")[0]
        if columns(text) <= limit:
            return text
        while columns(text + "…") > limit:
            text = text[:-1]
        return text + "…"


class Group(Command, click.Group):
    """A group whose commands and subgroups are made Chinese too (`@group.command`, `@group.group`)."""

    command_class = Command
    group_class = type

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        Command.format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)


def command(name: str | None = None, **attrs: Any) -> Callable[[Callable[..., Any]], Command]:
    """`click.command` making a `Command`."""
    return click.command(name, cls=Command, **attrs)


def group(name: str | None = None, **attrs: Any) -> Callable[[Callable[..., Any]], Group]:
    """`click.group` making a `Group`."""
    return click.group(name, cls=Group, **attrs)
