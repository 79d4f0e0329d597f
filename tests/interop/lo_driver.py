"""Drive a running headless LibreOffice over UNO. Runs under the system python3 (python3-uno).

Usage: python3 lo_driver.py PIPE_NAME < jobs.json > results.json
Each job: {"op": ..., "path": ..., ...}; ops:
  inspect  {cells: [[sheet, "B6"], ...]}  -> sheets, protection, locked flags, validation types
  values   {cells: [...], recalc: bool}    -> cell values (after calculateAll() when recalc)
  edit     {out, steps: [...]}              -> apply steps as a person would, store as .xlsx
  fit      {cells: [[sheet, "B6"], ...]}  -> the height LibreOffice needs for each cell's text, and the row's
  pdf      {out}                            -> export the whole workbook to PDF
Steps: ["unprotect", sheet], ["set", sheet, cell, value] (text stays text), ["type", sheet, cell, text] (recognised as
typed), ["insert_row", sheet, row0], ["clear", sheet, cell]
"""

import json
import os
import sys
import time

import uno
from com.sun.star.beans import PropertyValue


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def connect(pipe):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(120):
        try:
            context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            return context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        except Exception:
            time.sleep(0.5)
    raise SystemExit("cannot connect to LibreOffice")


def url(path):
    return uno.systemPathToFileUrl(path)


def open_doc(desktop, path):
    return desktop.loadComponentFromURL(url(path), "_blank", 0, (prop("Hidden", True),))


def cell(doc, sheet, address):
    return doc.Sheets.getByName(sheet).getCellRangeByName(address)


def value_of(c):
    kind = c.getType().value  # EMPTY, VALUE, TEXT, FORMULA
    if kind == "EMPTY":
        return None
    if kind == "VALUE":
        return c.getValue()
    if kind == "TEXT":
        return c.getString()
    if c.getError():
        return "#ERR" + str(c.getError())
    if c.FormulaResultType2 == 1:  # com.sun.star.sheet.FormulaResult.VALUE
        return c.getValue()
    return c.getString()


def fit(doc, sheet_name, address):
    """The height LibreOffice needs for a cell's text (merged across columns or not) against the row's height, in
    points: the text is laid out again in a scratch sheet one column as wide as the merged cell, optimal height."""
    sheet = doc.Sheets.getByName(sheet_name)
    c = sheet.getCellRangeByName(address)
    merged = sheet.createCursorByRange(c)
    merged.collapseToMergedArea()
    area = merged.getRangeAddress()
    width = sum(sheet.Columns.getByIndex(i).Width for i in range(area.StartColumn, area.EndColumn + 1))
    height = sum(sheet.Rows.getByIndex(i).Height for i in range(area.StartRow, area.EndRow + 1))
    name = "_fit"
    if not doc.Sheets.hasByName(name):
        doc.Sheets.insertNewByName(name, doc.Sheets.getCount())
    scratch = doc.Sheets.getByName(name)
    scratch.Columns.getByIndex(0).Width = width
    target = scratch.getCellByPosition(0, 0)
    target.setString(c.getString())
    for prop_name in ("CharHeight", "CharHeightAsian", "CharFontName", "CharFontNameAsian", "IsTextWrapped",
                      "ParaLeftMargin", "ParaRightMargin", "ParaTopMargin", "ParaBottomMargin"):
        target.setPropertyValue(prop_name, c.getPropertyValue(prop_name))
    scratch.Rows.getByIndex(0).OptimalHeight = True
    needed = scratch.Rows.getByIndex(0).Height
    return {"needed": needed * 72 / 2540, "height": height * 72 / 2540, "text": c.getString()}


def run(desktop, job):
    doc = open_doc(desktop, job["path"])
    try:
        op = job["op"]
        if op == "inspect":
            sheets = {}
            for name in doc.Sheets.ElementNames:
                sheet = doc.Sheets.getByName(name)
                sheets[name] = {"protected": sheet.isProtected(), "visible": sheet.IsVisible}
            cells = []
            for sheet, address in job.get("cells", []):
                c = cell(doc, sheet, address)
                validation = c.Validation
                cells.append({"locked": c.CellProtection.IsLocked, "validation": validation.Type.value,
                              "formula1": validation.getFormula1(), "value": value_of(c)})
            return {"sheets": sheets, "structure_protected": doc.isProtected(), "cells": cells}
        if op == "values":
            if job.get("recalc"):
                doc.calculateAll()
            return {"values": [value_of(cell(doc, s, a)) for s, a in job["cells"]]}
        if op == "edit":
            for step in job["steps"]:
                if step[0] == "protect_structure":
                    doc.protect(step[1] if len(step) > 1 else "")
                    continue
                kind, sheet_name = step[0], step[1]
                sheet = doc.Sheets.getByName(sheet_name)
                if kind == "unprotect":
                    sheet.unprotect("")
                elif kind == "set":
                    c = sheet.getCellRangeByName(step[2])
                    if isinstance(step[3], (int, float)) and not isinstance(step[3], bool):
                        c.setValue(step[3])
                    else:
                        c.setString(step[3])
                elif kind == "type":  # as a person types it: LibreOffice recognises numbers and dates
                    sheet.getCellRangeByName(step[2]).setFormula(str(step[3]))
                elif kind == "clear":
                    sheet.getCellRangeByName(step[2]).setString("")
                elif kind == "insert_row":
                    sheet.Rows.insertByIndex(step[2], 1)
            doc.calculateAll()
            doc.storeToURL(url(job["out"]), (prop("FilterName", "Calc MS Excel 2007 XML"),))
            return {"stored": job["out"]}
        if op == "fit":
            return {"cells": [fit(doc, sheet, address) for sheet, address in job["cells"]]}
        if op == "pdf":
            doc.storeToURL(url(job["out"]), (prop("FilterName", "calc_pdf_Export"),))
            return {"stored": job["out"]}
        raise ValueError(f"unknown op {op}")
    finally:
        doc.close(True)


def main():
    desktop = connect(sys.argv[1])
    jobs = json.load(sys.stdin)
    results = []
    for job in jobs:
        try:
            results.append(run(desktop, job))
        except Exception as exc:  # report per job; the test decides
            results.append({"error": f"{type(exc).__name__}: {exc}"})
    json.dump(results, sys.stdout, ensure_ascii=False)
    sys.stdout.flush()
    # Leave without tearing down the UNO bridge: python3-uno can crash in interpreter teardown after the work is done,
    # which once failed a CI run with an empty stderr.
    os._exit(0)


main()
