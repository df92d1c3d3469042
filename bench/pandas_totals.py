"""The alternative analysts use today: pandas.read_excel computing the same national totals.

usage: pandas_totals.py DIR ENGINE   (ENGINE: openpyxl or calamine)
Reads each return's income sheet with pandas, finds the sections by their labels (the same
schemas bcf uses) and sums lines per year, basis and funding source. Prints seconds and the
total pooled per year and basis, so the result can be compared with bcf's.

Reads are bounded to the first 1,000 rows and columns A:P, as an analyst would after finding
that unbounded reads of returns with a stray value at XFD1048576 build a dense frame of the
whole sheet (measured here: killed by the kernel at 24 GB).
"""
import decimal
import re
import sys
import time
import tomllib
from collections import defaultdict
from pathlib import Path

import pandas as pd

root, engine = Path(sys.argv[1]), sys.argv[2]
schemas = [tomllib.loads(p.read_text()) for p in sorted(Path("schemas/templates").glob("*.toml"))]
returns = [s for s in schemas if s["kind"] == "return"]
norm = lambda v: " ".join(str(v).split()).lower() if isinstance(v, str) else None


def amount(v):
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, (int, float)):
        return decimal.Decimal(repr(float(v))).quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_HALF_UP)
    s = re.sub(r"[\s,£]", "", str(v))
    try:
        return decimal.Decimal(s).quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_HALF_UP) if s else None
    except decimal.InvalidOperation:
        return None


def huge(path):
    """A sheet whose used range reaches far out (a stray value at XFD1048576): python-calamine
    allocates the dense range and the process aborts (measured: a 550 GB allocation), so with
    that engine such files are left out and counted."""
    import zipfile
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    head = z.open(name).read(4096).decode("utf-8", "replace")
                    m = re.search(r'<dimension ref="[A-Z]+\d+:([A-Z]+)(\d+)"', head)
                    if m and (len(m.group(1)) > 2 or int(m.group(2)) > 100_000):
                        return True
    except zipfile.BadZipFile:
        return False
    return False


totals = defaultdict(decimal.Decimal)
skipped = 0
start = time.perf_counter()
files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"))
for path in files:
    if engine == "calamine" and huge(path):
        skipped += 1
        continue
    sheets = pd.ExcelFile(path, engine=engine).sheet_names
    folded = {s.strip().lower(): s for s in sheets}
    for schema in returns:
        inc = schema["income"]
        if inc["sheet"].lower() not in folded or schema["recognise"]["sheet"].lower() not in folded:
            continue
        cover = pd.read_excel(path, sheet_name=folded[schema["recognise"]["sheet"].lower()], header=None, engine=engine, nrows=10, usecols=lambda c: int(c) < 16)
        if not any(norm(v) == schema["recognise"]["title"].lower() for v in cover.head(10).values.ravel()):
            continue
        df = pd.read_excel(path, sheet_name=folded[inc["sheet"].lower()], header=None, engine=engine, nrows=1000, usecols=lambda c: int(c) < 16)
        grid = df.values
        labels = [[norm(v) for v in row] for row in grid]
        for sec in inc["sections"]:
            hdr = norm(sec["header"])
            pos = next(((r, c) for r, row in enumerate(labels) for c, v in enumerate(row) if v == hdr), None)
            if pos is None:
                continue
            r0, c0 = pos
            cols = {}
            for col in inc["amount_columns"]:
                for c, v in enumerate(labels[r0]):
                    if v == norm(col["title"]):
                        cols[c] = (col["financial_year"], col["basis"])
            src_col = None
            if "funding_source_column" in sec:
                src_col = next((c for c, v in enumerate(labels[r0]) if v == norm(sec["funding_source_column"])), None)
            for r in range(r0 + 1, len(grid)):
                if labels[r][c0] == norm(sec["total"]):
                    break
                for c, (year, basis) in cols.items():
                    a = amount(grid[r][c])
                    if a is None:
                        continue
                    src = sec.get("funding_source")
                    if src is None and src_col is not None:
                        src = {norm(k): v for k, v in inc["funding_source_values"].items()}.get(labels[r][src_col])
                    if src:
                        totals[(year, basis)] += a
        break
elapsed = time.perf_counter() - start
print(f"pandas-{engine} files={len(files)} skipped_as_fatal={skipped} seconds={elapsed:.3f}")
for (year, basis), v in sorted(totals.items()):
    print(f"  {year} {basis} total_pooled={v}")
