"""Queries OUT/current as the README shows, while another process publishes, and counts errors.

usage: read_during_publishes.py OUT QUERIES STOP_FILE
Each query resolves OUT/current once (the README's advice: one publish, whole, for as long as
the query runs), then reads the lines with DuckDB's glob and the national totals, and checks
that they agree. Queries until STOP_FILE exists and at least QUERIES are done. Prints
"queries N errors E" and the first errors' text.
"""
import sys
from pathlib import Path

import duckdb

out, queries, stop = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
errors = []
con = duckdb.connect()
i = 0
while i < queries or not stop.exists():
    i += 1
    snap = (out / "current").resolve()  # as the README shows: once per query
    try:
        lines = con.execute(
            f"select financial_year, basis, sum(amount_gbp) from read_parquet('{snap}/lines/**/*.parquet', "
            "hive_partitioning = true) group by all order by all"
        ).fetchall()
        totals = con.execute(
            f"select financial_year, basis, total_pooled_gbp from '{snap}/national_totals.parquet' "
            "where areas_included > 0 order by all"
        ).fetchall()
        if [(y, b, t) for (y, b, t) in lines] != [(y, b, t) for (y, b, t) in totals]:
            errors.append(f"query {i}: lines {lines} disagree with totals {totals}")
    except Exception as e:  # noqa: BLE001 - every failure is what this counts
        errors.append(f"query {i}: {e}")
print(f"queries {i} errors {len(errors)}")
for e in errors[:20]:
    print(e)
