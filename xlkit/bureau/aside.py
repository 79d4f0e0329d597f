"""Sheets written aside: the summary's sheets shared out between this process and a forked copy of it on the other
core, the fast path. The plain path writes them all here, in turn; a test holds the two to the same workbook, part by
part.

The copy starts from the workbook as it stands before any sheet: every format made and numbered (`Formats`), so
the copy's cells carry the numbers this process's workbook has. This process writes the steps in the workbook's
order, the copy the costliest first; each claims a step before writing it (`Aside._claim`), so one of them writes
it. The copy writes its steps into its own copy of the workbook, assembles each sheet's XML part as xlsxwriter does
when it stores a workbook, and sends back, for each, the part's file and the few facts the workbook itself holds of
a sheet (hidden, print area and titles, filter range). Here a placeholder stands at each of those sheets' places,
with those facts, and its part is the copy's when the workbook is stored. A sheet whose writing would reach beyond
its own part (a chart, an image, a comment, a link, a new style) cannot be written aside: the copy says so, as it
says any error, and the whole workbook is then written in turn (`Aside.Failed`), so an error reaches the user as
the plain path raises it. The copy is a fork: only where the process has one thread (never inside a server) and
the platform forks.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import shutil
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from xlsxwriter.worksheet import Worksheet

# what the workbook itself reads of a sheet when it is stored: copied from the copy's sheet to the placeholder
FACTS = ("hidden", "autofilter_area", "print_area_range", "repeat_row_range", "repeat_col_range")
# what would make a sheet reach beyond its own XML part (drawings, comments, tables, links, metadata)
BEYOND = ("charts", "images", "shapes", "tables", "header_images", "footer_images", "buttons_list", "comments_list", "has_vml",
          "has_header_vml", "has_comments", "external_hyper_links", "external_drawing_links", "external_comment_links",
          "external_vml_links", "external_table_links", "external_background_links", "background_image", "has_dynamic_arrays")
# what this xlsxwriter must have for a part assembled by the copy to be stored here (3.x)
INTERNALS = ("_opt_reopen", "_write_single_row", "_set_xml_writer", "_assemble_xml_file", "xf_format_indices", "dxf_format_indices")
WAIT = 600.0  # seconds the copy may take (at ten thousand units it takes two): then it is stopped, the plain path runs


def alone() -> bool:
    """No other thread runs in this process (one could hold a lock the copy would wait on for ever)."""
    return threading.active_count() == 1


@dataclass(eq=False)
class Step:
    """One piece of the summary: `write` adds the sheets `names` (in that order) and writes them. A step with no
    names writes here, always. Steps are told apart by identity (two alike are still two steps to claim)."""

    write: Callable[[], object]
    names: tuple[str, ...] = ()
    cost: float = 1.0  # roughly, against the other steps: the copy takes the costliest first, so the two end together


class Borrowed(Worksheet):  # type: ignore[misc]
    """A placeholder: stored as the part the copy assembled for the sheet of its name."""

    part: Path | None = None

    def _set_xml_writer(self, filename: Any) -> None:
        self.target = filename

    def _assemble_xml_file(self) -> None:
        if self.part is None:
            raise RuntimeError(f"the sheet {self.name} written aside has no part")
        if getattr(self, "row_data_fh", None) is not None:  # the placeholder's own (empty) rows, as xlsxwriter leaves them
            self.row_data_fh.close()
            os.unlink(self.row_data_filename)
        shutil.move(self.part, self.target)


class Aside:
    """Use as a context around the steps of one workbook: `write` each in order, then `collect` before the workbook
    closes. The steps that may go aside are shared out as they come: this process takes them in order, the copy the
    costliest first (the last of equal cost first), each claiming a step before writing it (a file made only if it
    is not there: one of the two gets it), so the two end together whatever each step costs on the day."""

    class Failed(Exception):
        """The copy could not write its sheets: the workbook is to be written again the plain way."""

    def __init__(self, book: Any, steps: Sequence[Step], wanted: bool, folder: Path):
        """`folder`: where the copy's parts wait until the workbook is stored (the workbook's own scratch folder)."""
        self.book, self.folder = book, folder
        self.steps = [s for s in steps if s.names] if wanted and self.possible(book) else []
        self.placeholders: dict[str, Borrowed] = {}
        self.pid = 0
        self.reader = -1

    @staticmethod
    def possible(book: Any) -> bool:
        """Forking is safe and this xlsxwriter stores parts as 3.x does (else the plain path: slower, never wrong)."""
        return (hasattr(os, "fork") and alone() and bool(book.constant_memory)
                and all(hasattr(book, name) or hasattr(Worksheet, name) for name in INTERNALS))

    def _claim(self, step: Step) -> bool:
        try:
            os.close(os.open(self.folder / f"claim{self.steps.index(step)}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def __enter__(self) -> Aside:
        if self.steps:
            self.reader, writer = os.pipe()
            try:
                self.pid = os.fork()
            except OSError:  # no process to be had: every step here
                os.close(self.reader)
                self.reader, self.steps = -1, []
            else:
                if self.pid == 0:  # the copy: never returns
                    os.close(self.reader)
                    self._copy(writer)
            os.close(writer)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._stop()

    def write(self, step: Step) -> None:
        """The step written here, or, when the copy has claimed it, its sheets as placeholders at their places."""
        if step not in self.steps or self._claim(step):
            step.write()
            return
        for name in step.names:
            self.placeholders[name] = self.book.add_worksheet(name, worksheet_class=Borrowed)

    def collect(self) -> None:
        """Waits for the copy; gives each placeholder its part and facts. Raises `Failed` when the copy did not
        write them all."""
        if not self.pid:
            return
        message = self._read(time.monotonic() + WAIT)
        self._stop()
        what: Any
        try:
            said, what = pickle.loads(message) if message else ("failed", "the copy ended without a word")
        except (pickle.UnpicklingError, EOFError, ValueError) as error:
            said, what = "failed", f"the copy's word was unreadable: {error}"
        if said != "written":
            raise Aside.Failed(what)
        if set(what) != set(self.placeholders):
            raise Aside.Failed(f"the copy wrote {sorted(what)}, the placeholders are {sorted(self.placeholders)}")
        for name, (part, facts) in what.items():
            placeholder = self.placeholders[name]
            placeholder.part = Path(part)
            for fact, value in facts.items():
                setattr(placeholder, fact, value)

    def _read(self, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.reader], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.reader, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
        return b""  # too long: stopped, written the plain way

    def _stop(self) -> None:
        """The copy ended (or stopped) and waited for; the pipe closed. The parts stay until the workbook is stored."""
        if self.reader >= 0:
            os.close(self.reader)
            self.reader = -1
        if self.pid:
            with contextlib.suppress(ProcessLookupError):  # ended already: nothing; else (an error here, too long) stopped
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0

    def _copy(self, writer: int) -> None:
        """In the forked copy: write the steps, assemble their parts, send back where they are; then end at once
        (no exit handlers: they are the other process's)."""
        code = 0
        try:
            folder, book = self.folder, self.book
            styles = (len(book.xf_format_indices), len(book.dxf_format_indices))
            written: dict[str, tuple[str, dict[str, Any]]] = {}
            for step in sorted(self.steps, key=lambda step: (-step.cost, -self.steps.index(step))):
                if not self._claim(step):
                    continue  # this process has it
                before = len(book.worksheets())
                step.write()
                sheets = book.worksheets()[before:]
                if tuple(ws.name for ws in sheets) != step.names:
                    raise RuntimeError(f"the step wrote {[ws.name for ws in sheets]}, not {list(step.names)}")
                for ws in sheets:
                    beyond = [name for name in BEYOND if getattr(ws, name, None)]
                    if beyond:
                        raise RuntimeError(f"the sheet {ws.name} reaches beyond its part: {', '.join(beyond)}")
                    part = folder / f"part{len(written)}.xml"
                    ws._opt_reopen()
                    ws._write_single_row()
                    ws._set_xml_writer(str(part))
                    ws._assemble_xml_file()
                    written[ws.name] = (str(part), {fact: getattr(ws, fact) for fact in FACTS})
            if (len(book.xf_format_indices), len(book.dxf_format_indices)) != styles:
                raise RuntimeError("a sheet written aside made a new style")
            message = pickle.dumps(("written", written))
        except BaseException as error:
            message = pickle.dumps(("failed", f"{type(error).__name__}: {error}"))
            code = 1
        try:
            view = memoryview(message)
            while view:
                view = view[os.write(writer, view):]
        finally:
            os._exit(code)
