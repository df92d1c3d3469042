"""Validates a bcf publish's datapackage.json with Frictionless, every row, and checks what
Frictionless cannot: each file's size and SHA-256, the Arrow schema metadata pyarrow shows, and
that the feedback CSVs hold no cell a spreadsheet would run as a formula.

usage: check_package.py PUBLISHED_DIR
"""
import csv
import hashlib
import io
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
from frictionless import validate

out = Path(sys.argv[1])
report = validate(out / "datapackage.json")
if not report.valid:
    for task in report.tasks:
        for e in task.errors[:5]:
            print(f"{task.name}: {e.type}: {e.note}", file=sys.stderr)
    for e in report.errors[:5]:
        print(f"package: {e.type}: {e.note}", file=sys.stderr)
    sys.exit("frictionless validate failed")

package = json.loads((out / "datapackage.json").read_text())
listed = set()
for r in package["resources"]:
    data = (out / r["path"]).read_bytes()
    listed.add(r["path"])
    size = r.get("bytes", r.get("bcf:bytes"))
    digest = r.get("hash", r.get("bcf:hash"))
    assert size == len(data), (r["name"], size, len(data))
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest(), r["name"]
    if r["format"] == "parquet":
        meta = pq.read_schema(out / r["path"]).metadata
        table = r["name"].split("-")[0] if "partition" in r else r["name"]
        assert meta[b"bcf.table"].decode() == table, (r["path"], meta)
        assert meta[b"bcf.schema_version"].decode() == package["version"], r["path"]
        assert json.loads(meta[b"bcf.template_schemas"]), r["path"]
        created_by = pq.ParquetFile(out / r["path"]).metadata.created_by
        assert created_by.startswith("bcf version ") and "(build " in created_by, created_by
        fields = [f["name"] for f in r["schema"]["fields"]]
        assert fields == pq.read_schema(out / r["path"]).names, (r["path"], fields)
    if r["format"] == "csv":
        # Opened by areas in Excel: a BOM so £ reads as £, and no cell a spreadsheet runs.
        assert data.startswith(b"\xef\xbb\xbf"), r["path"]
        for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))):
            for cell in row:
                assert not cell[:1] in ("=", "+", "-", "@", "\t", "\r"), (r["path"], cell)
on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != "datapackage.json"}
assert on_disk == listed, ("files not described", on_disk - listed, "described but absent", listed - on_disk)
print(f"package OK: {len(package['resources'])} resources valid")
