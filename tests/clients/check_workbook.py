"""Reads OUT/current/bcf-national.xlsx with openpyxl and checks it against the Parquet beside it.

usage: check_workbook.py SNAPSHOT
Checks: the sheets are there; no cell anywhere is a formula, and every text cell is a string
cell whatever its first character; money cells are numbers formatted £#,##0.00, and every
national and area figure equals the Parquet to the penny; header rows are frozen and every
table has an autofilter; the notes name the publish (date and the snapshot's folder name) and
the catalogue revision. Prints "workbook OK" and what it compared, and the texts beginning
with =, +, - or @ it found, one per line, as `typed: <sheet>!<cell> <text>`.
"""
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq

snap = Path(sys.argv[1]).resolve()
wb = openpyxl.load_workbook(snap / "bcf-national.xlsx")  # formulas as written, not values
SHEETS = ["National totals", "Areas", "Coverage", "Changes", "Findings by area", "Notes"]
assert wb.sheetnames == SHEETS, wb.sheetnames
MONEY = ["Mandated minimum", "Voluntary LA", "Voluntary NHS", "Voluntary above minimum", "Total pooled"]
COLUMNS = ["mandated_minimum_gbp", "voluntary_la_gbp", "voluntary_nhs_gbp", "voluntary_above_minimum_gbp",
           "total_pooled_gbp"]

typed = []
for ws in wb.worksheets:
    for row in ws.iter_rows():
        for c in row:
            assert c.data_type != "f", f"{ws.title}!{c.coordinate} is a formula: {c.value!r}"
            if isinstance(c.value, str):
                assert c.data_type == "s", f"{ws.title}!{c.coordinate} {c.data_type}"
                if c.value[:1] in ("=", "+", "-", "@"):
                    typed.append(f"typed: {ws.title}!{c.coordinate} {c.value}")
    if ws.title != "Notes":
        assert ws.freeze_panes == "A2", (ws.title, ws.freeze_panes)
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), (ws.title, ws.auto_filter.ref)


def rows(ws):
    it = ws.iter_rows()
    header = [c.value for c in next(it)]
    for r in it:
        yield header, {h: c for h, c in zip(header, r)}


def pence(cell):
    assert isinstance(cell.value, (int, float)), (cell.coordinate, cell.value)
    assert cell.number_format == "£#,##0.00", (cell.coordinate, cell.number_format)
    return round(Decimal(repr(float(cell.value))) * 100)


def parquet_pence(v):
    return int(Decimal(v) * 100)


national = {(r["financial_year"], r["basis"]): r for r in pq.read_table(snap / "national_totals.parquet").to_pylist()}
seen = 0
for _, r in rows(wb["National totals"]):
    want = national.pop((r["Financial year"].value, r["Basis"].value))
    assert r["Areas included"].value == want["areas_included"], r
    for label, col in zip(MONEY, COLUMNS):
        assert pence(r[label]) == parquet_pence(want[col]), (label, r[label].value, want[col])
        seen += 1
assert not national, f"national rows missing from the workbook: {list(national)}"

areas = {(r["area_code"], r["financial_year"], r["basis"]): r
         for r in pq.read_table(snap / "area_totals.parquet").to_pylist()}
area_rows = 0
for _, r in rows(wb["Areas"]):
    want = areas.pop((r["Area code"].value, r["Financial year"].value, r["Basis"].value))
    assert r["Area name"].value == want["area_name"], r
    assert r["Source file"].value == want["source_file"], r
    for label, col in zip(MONEY, COLUMNS):
        assert pence(r[label]) == parquet_pence(want[col]), (label, r[label].value, want[col])
    area_rows += 1
assert not areas, f"area rows missing from the workbook: {list(areas)[:5]}"

coverage = pq.read_table(snap / "coverage.parquet").to_pylist()
cells = {(c["area_code"], f'{c["financial_year"]} {c["basis"]}'): c["status"] for c in coverage}
for _, r in rows(wb["Coverage"]):
    for key, cell in r.items():
        if key not in ("Area name", "Area code") and cell.value is not None:
            assert cells.pop((r["Area code"].value, key)) == cell.value, (key, cell.value)
assert not cells, f"coverage cells missing: {list(cells)[:5]}"

notes = {r[0].value: r[1].value for r in wb["Notes"].iter_rows(min_row=2)}
assert notes["Snapshot"] == snap.name, (notes["Snapshot"], snap.name)
assert notes["Published"][:4].isdigit() and notes["Catalogue revision"] == "2", notes

print(f"workbook OK: {seen} national figures and {area_rows} area rows equal the Parquet; "
      f"{len(coverage)} coverage cells; no formula")
for t in typed:
    print(t)
