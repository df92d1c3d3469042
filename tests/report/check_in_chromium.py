"""Renders OUT/current/report.html in headless Chromium and checks it against national_totals.parquet.

usage: check_in_chromium.py OUT ARTIFACTS
Reads the published snapshot OUT/current (as a BI tool would), writes ARTIFACTS/report.png
(screenshot) and ARTIFACTS/report.pdf (print), and checks the rendered DOM's totals equal the
Parquet file's, to the penny. Artifacts go outside OUT: a snapshot holds only what bcf wrote.
"""
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

out = (Path(sys.argv[1]) / "current").resolve()
artifacts = Path(sys.argv[2])
artifacts.mkdir(parents=True, exist_ok=True)
page = (out / "report.html").as_uri()
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
assert chromium, "chromium is not installed (apt-get install chromium)"

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars"]


def chrome(*args):
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args],
                           capture_output=True, text=True, timeout=120)
    return r


dom = chrome("--dump-dom", page)
assert dom.returncode == 0, dom.stderr
assert "National totals" in dom.stdout, "page rendered"


class Totals(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells = {}
        self.rows = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-total" in a:
            self.cells[a["data-total"]] = a["data-value"]
        if tag == "tr" and self.in_table:
            self.rows += 1
        if tag == "table":
            self.in_table = a.get("id") == "national-totals"

    in_table = False


p = Totals()
p.feed(dom.stdout)
table = pq.read_table(out / "national_totals.parquet").to_pylist()
cols = ["mandated_minimum_gbp", "voluntary_la_gbp", "voluntary_nhs_gbp", "voluntary_above_minimum_gbp", "total_pooled_gbp"]
assert len(p.cells) == len(table) * len(cols), (len(p.cells), len(table))
for row in table:
    for c in cols:
        key = f"{row['financial_year']}/{row['basis']}/{c}"
        assert p.cells[key] == str(row[c]), (key, p.cells[key], row[c])
assert p.rows == len(table) + 1, p.rows  # header + one row per year and basis

shot = artifacts / "report.png"
r = chrome("--window-size=1280,2400", f"--screenshot={shot}", page)
assert r.returncode == 0 and shot.stat().st_size > 20_000, ("screenshot", r.stderr)
pdf = artifacts / "report.pdf"
r = chrome("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page)
assert r.returncode == 0 and pdf.read_bytes()[:5] == b"%PDF-", ("print", r.stderr)
print(f"chromium check OK: {len(table)} rows, {len(p.cells)} totals match; {shot} {pdf}")
