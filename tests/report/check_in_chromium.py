"""Renders OUT/current/report.html in headless Chromium and checks it works at national scale.

usage: check_in_chromium.py OUT ARTIFACTS
Reads the published snapshot OUT/current (as a BI tool would) and checks, in a 1,280 px
window: the rendered DOM's totals equal national_totals.parquet to the penny; no element is
wider than the window and the page is under 15,000 px tall (the same for the area page with
the most findings) on a corpus where at least a quarter of the areas have a rejected or warned
return; every area page holds all of its findings; who to chase lists exactly the areas rejected
or missing for the latest year, each with a feedback file; the chart shows years without returns
as gaps; the pages name their publish; the page prints on one A4 page; it has no script. Writes ARTIFACTS/report.png (screenshot) and
ARTIFACTS/report.pdf (print). Layout is measured on a copy in ARTIFACTS with a measuring
script added: the published page itself has none. Artifacts go outside OUT: a snapshot holds
only what bcf wrote.
"""
import json
import re
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

out = (Path(sys.argv[1]) / "current").resolve()
artifacts = Path(sys.argv[2]).resolve()
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

assert "<script" not in (out / "report.html").read_text(encoding="utf-8"), "the published page runs no script"

WIDTH, MAX_HEIGHT = 1280, 15_000
MEASURE = """<script>
window.addEventListener('load', () => {
  const vw = document.documentElement.clientWidth, wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > vw + 0.5 || r.left < -0.5) wide.push(el.tagName + (el.id ? '#' + el.id : '') + ' ' + Math.round(r.width) + 'px');
  }
  const m = document.createElement('pre');
  m.id = 'bcf-measure';
  m.textContent = JSON.stringify({viewport: vw, width: document.documentElement.scrollWidth,
                                  height: document.documentElement.scrollHeight, wide: wide.slice(0, 10)});
  document.body.appendChild(m);
});
</script>"""


def measure(path):
    copy = artifacts / ("measure-" + path.name)
    copy.write_text(path.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    r = chrome(f"--window-size={WIDTH},1000", "--virtual-time-budget=10000", "--dump-dom", copy.as_uri())
    assert r.returncode == 0, r.stderr
    found = re.search(r'<pre id="bcf-measure">(.*?)</pre>', r.stdout, re.S)
    assert found, f"{path.name}: the measuring script ran"
    m = json.loads(html.unescape(found.group(1)))
    assert m["viewport"] == WIDTH, m
    assert m["width"] <= WIDTH and not m["wide"], f"{path.name} is wider than {WIDTH} px: {m}"
    assert m["height"] < MAX_HEIGHT, f"{path.name} is {m['height']} px tall (limit {MAX_HEIGHT}): {m}"
    return m




page_m = measure(out / "report.html")
findings = pq.read_table(out / "findings.parquet").to_pylist()
subs = {r["source_file"]: r for r in pq.read_table(out / "submissions.parquet").to_pylist()}
per_area = {}
for f in findings:
    code = subs[f["source_file"]]["area_code"]
    if code:
        per_area[code] = per_area.get(code, 0) + 1
area_m = None
if per_area:
    busiest = max(sorted(per_area), key=per_area.get)
    area_m = measure(out / "areas" / f"{busiest}.html")

# The corpus is what the bound is about: at least a quarter of the areas have a rejected or
# warned return.
coverage = pq.read_table(out / "coverage.parquet").to_pylist()
areas = {c["area_code"] for c in coverage}
faulty = {r["area_code"] for r in subs.values() if r["area_code"] and r["status"] in ("rejected", "accepted_with_warnings")}
assert len(faulty) * 4 >= len(areas), f"only {len(faulty)} of {len(areas)} areas have a rejected or warned return"

# Every area page holds every finding of its area's files, and says which publish it is.
snapshot = out.name
for code in sorted(areas | set(per_area)):
    text = (out / "areas" / f"{code}.html").read_text(encoding="utf-8")
    assert text.count('<tr class="finding">') == per_area.get(code, 0), (code, per_area.get(code, 0))
    assert f"snapshot {snapshot}</p>" in text, f"{code}'s page names the publish"
report = (out / "report.html").read_text(encoding="utf-8")
assert f"snapshot {snapshot}</p>" in report, "the national page names the publish"

# Who to chase: every area rejected or missing for the latest year, once.
latest = max(c["financial_year"] for c in coverage)
status = {}
for c in coverage:
    if c["financial_year"] == latest:
        status.setdefault(c["area_code"], set()).add(c["status"])
want_rejected = {a for a, st in status.items() if "rejected" in st}
want_missing = {a for a, st in status.items() if "missing" in st} - want_rejected
chase = report[report.index('id="chase-table"'):]
chase = chase[:chase.index("</table>")]
got_rejected = set(re.findall(r'<tr class="chase-rejected"><td><a href="areas/([^"]+)\.html"', chase))
got_missing = set(re.findall(r'data-area="([^"]+)"', chase))
assert got_rejected == want_rejected, (sorted(got_rejected ^ want_rejected))
assert got_missing == want_missing, (sorted(got_missing ^ want_missing))
for code in want_rejected | want_missing:
    assert (out / "feedback" / f"{code}.csv").exists(), f"{code} has a feedback file to send"

# The chart shows each year without returns between the first and the last as a gap.
years = sorted({int(r["financial_year"][:4]) for r in table if r["areas_included"] > 0})
gaps = [y for y in range(years[0], years[-1] + 1) if y not in years]
assert report.count('class="gap"') == len(gaps), (gaps, report.count('class="gap"'))

shot = artifacts / "report.png"
r = chrome(f"--window-size={WIDTH},{min(page_m['height'], 16_000)}", f"--screenshot={shot}", page)
assert r.returncode == 0 and shot.stat().st_size > 20_000, ("screenshot", r.stderr)
pdf = artifacts / "report.pdf"
r = chrome("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page)
assert r.returncode == 0 and pdf.read_bytes()[:5] == b"%PDF-", ("print", r.stderr)
pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
assert pages == 1, f"the national report prints on one page, not {pages}"
print(f"chromium check OK: {len(subs)} files, {len(table)} rows, {len(p.cells)} totals match; "
      f"{len(faulty)} of {len(areas)} areas faulty, {len(want_rejected)} rejected and {len(want_missing)} missing to chase; "
      f"report {page_m['width']}x{page_m['height']} px, prints on {pages} page, busiest area page {area_m and area_m['height']} px; {shot} {pdf}")
