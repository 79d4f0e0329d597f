"""`--help` in Chinese: click's own words (用法：, 选项：, 命令：, the help and version options, [默认：…], [必填], ranges)
and lines wrapped by the columns a terminal gives Chinese characters (two each), not by their count.

Every command and group of the CLI is made by `command` and `group` below: their context's formatter says the headings,
their options' notes are written here, the help option says 显示本帮助并退出。 Nothing of click is patched; click's
English only reaches a formatter through its heading names, translated in HEADINGS.

click's usage errors (an unknown option, a missing argument, a value out of range) are said in Chinese too: every
`Command` turns a `click.UsageError` raised while parsing or invoking into a `UsageProblem`, whose message is click's own
read through USAGE_MESSAGES (click's message patterns); a message not in the table still shows, as click wrote it.
"""

from __future__ import annotations

import ast
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
    return _bounds(kind.min, kind.max, kind.min_open, kind.max_open)


def _bounds(low: object, high: object, min_open: bool, max_open: bool) -> str:
    if low is not None and high is not None:
        return f"取值 {low} 到 {high}" + ("（不含两端）" if min_open and max_open else "（不含下限）" if min_open
                                             else "（不含上限）" if max_open else "")
    if low is not None:
        return f"{'大于' if min_open else '至少'} {low}"
    if high is not None:
        return f"{'小于' if max_open else '至多'} {high}"
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


_R = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""  # a value as click quotes it: its repr
# click's usage messages (click 8.x, its own words) and what the person at the terminal reads; a group's name says how
# its text is shown: name/value/path as typed, hint an option's or argument's names, list 、-separated, range in words,
# kind the path's kind, message said in Chinese too, tail the same after a ；, any other group as click wrote it
USAGE_MESSAGES: tuple[tuple[str, str], ...] = (
    (r"Invalid value for (?P<hint>.+?): (?P<message>.*)", "{hint} 的值有误：{message}"),
    (r"Invalid value: (?P<message>.*)", "值有误：{message}"),
    (r"Missing command\.", "缺少命令"),
    (r"Missing parameter: (?P<name>.*)", "缺少 {name}"),
    (r"Missing argument (?P<hint>.+?)\.(?: (?P<tail>.*))?", "缺少参数 {hint}{tail}"),
    (r"Missing option (?P<hint>.+?)\.(?: (?P<tail>.*))?", "缺少必填的选项 {hint}{tail}"),
    (r"Missing (?:parameter )?(?P<hint>.+?)\.(?: (?P<tail>.*))?", "缺少 {hint}{tail}"),
    (r"Choose from:\s+(?P<list>.*)", "可选：{list}"),
    (rf"No such option (?P<name>{_R})\.(?: (?P<tail>.*))?", "没有选项 {name}{tail}"),
    (rf"No such command (?P<name>{_R})\.(?: (?P<tail>.*))?", "没有命令 {name}{tail}"),
    (rf"Did you mean (?P<name>{_R})\?", "是不是 {name}？"),
    (r"\(Did you mean one of: (?P<list>.*)\?\)", "是不是以下之一：{list}？"),
    (r"Got unexpected extra arguments? \((?P<args>.*)\)", "多出了参数：{args}"),
    (rf"Option (?P<name>{_R}) requires an argument\.", "选项 {name} 后面缺少它的值"),
    (rf"Option (?P<name>{_R}) requires (?P<n>\d+) arguments\.", "选项 {name} 后面要给 {n} 个值"),
    (rf"Option (?P<name>{_R}) does not take a value\.", "选项 {name} 不带值"),
    (rf"Argument (?P<name>{_R}) takes (?P<n>\d+) values\.", "参数 {name} 要给 {n} 个值"),
    (r"Takes (?P<n>\d+) values but (?P<m>\d+) (?:was|were) given\.", "要给 {n} 个值，实际给了 {m} 个"),
    (r"(?P<n>\d+) values are required, but (?P<m>\d+) (?:was|were) given\.", "要给 {n} 个值，实际给了 {m} 个"),
    (rf"(?P<value>{_R}) is not a valid integer(?: range)?\.", "「{value}」不是整数"),
    (rf"(?P<value>{_R}) is not a valid float(?: range)?\.", "「{value}」不是数值"),
    (rf"(?P<value>{_R}) is not a valid boolean\. Recognized values: (?P<list>.*)", "「{value}」不是是否值，可写：{list}"),
    (rf"(?P<value>{_R}) is not a valid UUID\.", "「{value}」不是 UUID"),
    (rf"(?P<value>{_R}) is not one of (?P<list>.*)\.", "「{value}」不是可选的值（{list}）"),
    (rf"(?P<value>{_R}) is not (?P<name>{_R})\.", "「{value}」不是可选的值（{name}）"),
    (rf"(?P<value>{_R}) does not match the formats? (?P<list>.*)\.", "「{value}」不合格式（{list}）"),
    (r"(?P<number>\S+) is not in the range (?P<range>\S+)\.", "「{number}」超出范围（{range}）"),
    (rf"(?P<kind>\w+) (?P<path>{_R}) does not exist\.", "{kind}「{path}」不存在"),
    (rf"(?P<kind>\w+) (?P<path>{_R}) is a directory\.", "{kind}「{path}」是文件夹，这里要的是文件"),
    (rf"(?P<kind>\w+) (?P<path>{_R}) is a file\.", "{kind}「{path}」是文件，这里要的是文件夹"),
    (rf"(?P<kind>\w+) (?P<path>{_R}) is not readable\.", "{kind}「{path}」无法读取"),
    (rf"(?P<kind>\w+) (?P<path>{_R}) is not writable\.", "{kind}「{path}」无法写入"),
    (rf"(?P<kind>\w+) (?P<path>{_R}) is not executable\.", "{kind}「{path}」不能执行"),
)
_USAGE = [(re.compile(pattern, re.S), said) for pattern, said in USAGE_MESSAGES]
_KINDS = {"file": "文件", "directory": "文件夹", "path": "路径"}


def _typed(text: str) -> str:
    """A value click quoted (its repr), as the user typed it: a backslash of a Windows path stays one."""
    if re.fullmatch(_R, text):
        try:
            return str(ast.literal_eval(text))
        except (ValueError, SyntaxError):
            return text
    return text


def _words_of_range(text: str) -> str:
    """click's `2000<=x<=2100`, `x>=1`, `0<x<1` in words, as the help says them."""
    found = re.fullmatch(r"(?:(.+?)(<=?))?x(?:([<>]=?)(.+))?", text)
    if found is None:
        return text
    low, low_op, op, other = found.groups()
    if low is not None:
        return _bounds(low, other, low_op == "<", op == "<")
    if op is not None and op[0] == ">":
        return _bounds(other, None, op == ">", False)
    return _bounds(None, other, False, op == "<") if op is not None else text


def _shown(group: str, text: str | None) -> str:
    if text is None:
        return ""
    if group in ("name", "value", "path"):
        return _typed(text)
    if group == "hint":  # '-o' / '--output', or a name of the program's own (param_hint="--upload-mb-per-day")
        return re.sub(r"'([^']*)'", r"\1", text)
    if group == "list":
        items = re.findall(_R, text) if text[:1] in "'\"" else re.split(r",\s*", text.strip())
        return "、".join(_typed(item) for item in items)
    if group == "range":
        return _words_of_range(text)
    if group == "kind":
        return _KINDS.get(text.lower(), text)
    if group == "message":
        return usage_message(text)
    if group == "tail":
        return f"；{usage_message(text)}" if text.strip() else ""
    return text


def usage_message(message: str) -> str:
    """click's usage message in Chinese by USAGE_MESSAGES; one not there is kept as click wrote it (never dropped)."""
    for pattern, said in _USAGE:
        found = pattern.fullmatch(message.strip())
        if found is not None:
            return said.format(**{group: _shown(group, text) for group, text in found.groupdict().items()})
    return message


class UsageProblem(click.UsageError):
    """A usage error of click as the person at the terminal reads it: the usage line, then 错误：… and where the help is;
    exit 2 as click's. ORIGINAL is click's own error, kept for whoever needs its parts."""

    def __init__(self, original: click.UsageError, ctx: click.Context | None) -> None:
        super().__init__(original.format_message(), ctx)
        self.original = original

    def format_message(self) -> str:
        return usage_message(self.message)

    def show(self, file: Any = None) -> None:
        ctx, hint, message = self.ctx, "", self.format_message()
        color = ctx.color if ctx is not None else None
        if ctx is not None:
            if ctx.command.get_help_option(ctx) is not None:  # the shortest name (-h); after a question (…？) no ；
                name = min(ctx.command.get_help_option_names(ctx), key=len)
                hint = f"{'' if message.endswith(('？', '。')) else '；'}请运行 {ctx.command_path} {name} 查看用法。"
            click.echo(ctx.get_usage(), file=file, err=file is None, color=color)
        click.echo(f"错误：{message}{hint}", file=file, err=file is None, color=color)


def _in_chinese(error: click.UsageError, ctx: click.Context) -> click.UsageError:
    """click's usage error as a UsageProblem, once (a subcommand's has been turned before its group sees it); the help
    that a group shows when given no command (NoArgsIsHelpError) is no error to say."""
    if isinstance(error, (UsageProblem, click.exceptions.NoArgsIsHelpError)):
        return error
    return UsageProblem(error, error.ctx or ctx)


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

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            raise _in_chinese(error, ctx) from error

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _in_chinese(error, ctx) from error

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
