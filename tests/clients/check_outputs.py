"""Reads a bcf output folder with pyarrow and DuckDB and checks types, partitions and totals.

usage: check_outputs.py OUT_DIR EXPECTED_DIR
"""
import csv
import decimal
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

out, expected = Path(sys.argv[1]), Path(sys.argv[2])
money = pa.decimal128(18, 2)

# national_totals: the documented types.
nt = pq.read_table(out / "national_totals.parquet")
want = {
    "financial_year": pa.string(), "basis": pa.string(),
    "areas_expected": pa.int32(), "areas_included": pa.int32(),
    "mandated_minimum_gbp": money, "voluntary_la_gbp": money, "voluntary_nhs_gbp": money,
    "voluntary_above_minimum_gbp": money, "total_pooled_gbp": money,
    "baseline_year": pa.string(), "voluntary_vs_baseline_ratio": pa.float64(),
}
for name, typ in want.items():
    assert nt.schema.field(name).type == typ, (name, nt.schema.field(name).type)

# Dates are dates (schema version 2), in the register and in the file list.
for name in ("submissions", "coverage"):
    assert pq.read_schema(out / f"{name}.parquet").field("submission_date").type == pa.date32(), name

# lines: Hive partitions discovered by pyarrow, amounts decimal.
lines = ds.dataset(out / "lines", format="parquet", partitioning="hive").to_table()
assert lines.schema.field("amount_gbp").type == money
# The partition column's type is the client's choice, as the README says: pyarrow's dataset
# API gives a string, pq.read_table a dictionary of strings, DuckDB a VARCHAR.
assert lines.schema.field("financial_year").type == pa.string()
assert pq.read_table(out / "lines").schema.field("financial_year").type == pa.dictionary(pa.int32(), pa.string())
assert duckdb.sql(f"select distinct typeof(financial_year) from read_parquet('{out}/lines/**/*.parquet', hive_partitioning=true)").fetchall() == [("VARCHAR",)]
years = sorted(set(lines.column("financial_year").to_pylist()))
with open(expected / "lines_by_source.csv") as f:
    expected_years = sorted({r["financial_year"] for r in csv.DictReader(f)})
assert years == expected_years, years

# DuckDB: the same sums as the expected CSV, with hive_partitioning.
con = duckdb.connect()
rows = con.execute(
    f"""select financial_year, basis, funding_source, sum(amount_gbp)::decimal(18,2)
        from read_parquet('{out}/lines/**/*.parquet', hive_partitioning=true)
        group by all order by 1, 2, 3"""
).fetchall()
with open(expected / "lines_by_source.csv") as f:
    exp = [(r["financial_year"], r["basis"], r["funding_source"], decimal.Decimal(r["amount_gbp"])) for r in csv.DictReader(f)]
assert [(str(a), b, c, d) for a, b, c, d in rows] == exp, rows

typ = con.execute(f"select typeof(total_pooled_gbp) from '{out}/national_totals.parquet' limit 1").fetchone()[0]
assert typ == "DECIMAL(18,2)", typ
with open(expected / "national_totals.csv") as f:
    for r in csv.DictReader(f):
        got = con.execute(
            f"select total_pooled_gbp, voluntary_above_minimum_gbp from '{out}/national_totals.parquet' where financial_year = ? and basis = ?",
            [r["financial_year"], r["basis"]],
        ).fetchone()
        assert got == (decimal.Decimal(r["total_pooled_gbp"]), decimal.Decimal(r["voluntary_above_minimum_gbp"])), (r, got)

schemes = con.execute(f"select count(*), count(distinct financial_year) from read_parquet('{out}/schemes/**/*.parquet', hive_partitioning=true)").fetchone()
assert schemes[0] > 0 and schemes[1] == len(expected_years), schemes
subs = con.execute(f"select count(*) from '{out}/submissions.parquet'").fetchone()[0]
with open(expected / "submissions.csv") as f:
    assert subs == len(list(csv.DictReader(f))), subs

# lines hold exactly the figures that count (catalogue §6.1): summed per year, basis and
# category they equal national_totals to the penny.
per_category = con.execute(
    f"""with l as (
          select financial_year, basis,
                 sum(case when funding_source = 'la_additional' then amount_gbp else 0 end) as la,
                 sum(case when funding_source = 'nhs_additional' then amount_gbp else 0 end) as nhs,
                 sum(case when funding_source not in ('la_additional', 'nhs_additional') then amount_gbp else 0 end) as minimum
          from read_parquet('{out}/lines/**/*.parquet', hive_partitioning = true)
          group by all)
        select n.financial_year, n.basis, n.mandated_minimum_gbp = l.minimum, n.voluntary_la_gbp = l.la,
               n.voluntary_nhs_gbp = l.nhs
        from '{out}/national_totals.parquet' n join l using (financial_year, basis)"""
).fetchall()
assert len(per_category) == nt.num_rows and all(all(r[2:]) for r in per_category), per_category

# coverage: one row per expected area, year and basis; its included rows are areas_included.
cov = con.execute(
    f"""select n.financial_year, n.basis, n.areas_included, n.areas_expected,
               count(*) filter (where c.status = 'included'), count(*)
        from '{out}/national_totals.parquet' n join '{out}/coverage.parquet' c using (financial_year, basis)
        group by all"""
).fetchall()
assert len(cov) == nt.num_rows and all(r[2] == r[4] and r[3] == r[5] for r in cov), cov
# area_totals: each area's figures sum to the national totals, column by column, and the
# areas are exactly the register's included ones; decisions and changes read with their types.
columns = ["mandated_minimum_gbp", "voluntary_la_gbp", "voluntary_nhs_gbp", "voluntary_above_minimum_gbp", "total_pooled_gbp"]
sums = ", ".join(f"sum(a.{c})::decimal(18,2) = any_value(n.{c})" for c in columns)
by_period = con.execute(
    f"""select a.financial_year, a.basis, count(*), {sums}
        from '{out}/area_totals.parquet' a join '{out}/national_totals.parquet' n using (financial_year, basis)
        group by all"""
).fetchall()
included = dict(((r[0], r[1]), r[2]) for r in cov)
assert by_period and all(all(r[3:]) for r in by_period), by_period
assert all(included[(r[0], r[1])] == r[2] for r in by_period), (by_period, included)
for name, money_cols in (("area_totals", columns), ("changes", ["previous_gbp", "current_gbp", "change_gbp"])):
    schema = pq.read_schema(out / f"{name}.parquet")
    assert all(schema.field(c).type == money for c in money_cols), (name, schema)
assert pq.read_schema(out / "decisions.parquet").field("decision_date").type == pa.date32()
assert pq.read_schema(out / "findings.parquet").field("decision_date").type == pa.date32()
print("clients OK")
