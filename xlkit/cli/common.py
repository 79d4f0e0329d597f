"""What every command shares: errors as one line and an exit code, the spec option, the readers' bounds, JSON."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from ..errors import XlkitError


class CliError(click.ClickException):
    """Usage, spec and file problems: one line, exit 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        """click's `Error: ` lead-in said in Chinese, on stderr as click does."""
        click.echo(f"错误：{self.format_message()}", file=file, err=file is None)


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into `错误：…` and exit 2; never a traceback unless XLKIT_DEBUG is set."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except XlkitError as exc:  # a ledger failing mid-command (disk full, damaged, read-only) included: its backend says so
            raise CliError(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:  # output piped into `head`
            sys.stderr.close()
            sys.exit(0)
        except Exception as exc:
            if os.environ.get("XLKIT_DEBUG"):
                raise
            raise CliError(f"xlkit 内部错误（程序的缺陷，不是输入的问题）：{exc}；设置环境变量 XLKIT_DEBUG=1 可看到详细信息，"
                           "请连同它报告给维护者") from None

    return wrapper


def spec_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--spec", "spec_path", type=click.Path(dir_okay=False), help="表式文件（YAML）；默认：内置表式。")(command)


def load(spec_path: str | None) -> Any:
    from ..form.load import load_spec

    return load_spec(spec_path)


def dumps(data: Any) -> str:
    """Strict JSON (no NaN or infinity), Chinese kept readable."""
    return json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False)


def bounds(command: Callable[..., Any]) -> Callable[..., Any]:
    """Every command that reads returned files bounds each file's time and memory (a reader process per file)."""
    command = click.option("--jobs", type=click.IntRange(1, 64), metavar="N", help="读取进程数（默认：本机的 CPU 核数）。")(command)
    command = click.option("--timeout", type=click.FloatRange(1, 3600), default=120, show_default=True, metavar="SECONDS",
                           help="每个文件最多用时（秒）。")(command)
    return click.option("--memory-mb", type=click.IntRange(64, 65536), default=2048, show_default=True, metavar="MB",
                        help="每个读取进程最多增加的内存（MB）。")(command)


def constants_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--const", "constants", multiple=True, metavar="NAME=VALUE",
                        help="本次生成所用的表式常量，如 time_progress=0.5833（记入每份工作簿）；可重复。")(command)



def parse_constants(given: tuple[str, ...]) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in given:
        name, sep, text = item.partition("=")
        try:
            values[name.strip()] = float(text)
        except ValueError:
            raise CliError(f"--const 的写法是 名称=数值，例如 time_progress=0.5833；收到的是「{item}」") from None
        if not sep or not name.strip():
            raise CliError(f"--const 的写法是 名称=数值，例如 time_progress=0.5833；收到的是「{item}」")
    return values
