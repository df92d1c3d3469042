#!/usr/bin/env bash
# make bench: one run of each contender on the same synthetic national corpus, on this machine,
# printed as ratios. Timing lives here, never in tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
WORK=${BENCH_DIR:-out/bench}
SEED=${BENCH_SEED:-1}
mkdir -p "$WORK"

cargo build --release --quiet --bin bcf --example floor
BCF=target/release/bcf
FLOOR=target/release/examples/floor

corpus() { # DIR SEED
  [[ -f "$1/.done" ]] || { rm -rf "$1"; "$BCF" --quiet fixtures --out "$1" --seed "$2" >/dev/null; touch "$1/.done"; }
}
corpus "$WORK/corpus" "$SEED"
corpus "$WORK/corpus2/a" "$SEED"
corpus "$WORK/corpus2/b" "$((SEED + 1000))"
returns=$(find "$WORK/corpus" -name '*.xlsx' | wc -l)

# measure NAME CMD...: wall seconds and peak RSS (MB) into $NAME_s and $NAME_mb
measure() {
  local name=$1; shift
  local log="$WORK/$name.time"
  /usr/bin/time -f "%e %M" -o "$log" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"
  read -r secs kb < "$log"
  printf -v "${name}_s" '%s' "$secs"
  printf -v "${name}_mb" '%s' "$((kb / 1024))"
  printf '  %-28s %8.2f s  %6d MB\n' "$name" "$secs" "$((kb / 1024))"
}

echo "corpus: $returns workbooks in $WORK/corpus ($(du -sh "$WORK/corpus" | cut -f1)), $(nproc) cores"
measure floor "$FLOOR" "$WORK/corpus"
rm -rf "$WORK/o1" "$WORK/o2"
measure bcf_run "$BCF" --quiet run --input "$WORK/corpus" --out "$WORK/o1"
measure bcf_rerun "$BCF" --quiet run --input "$WORK/corpus" --out "$WORK/o1"
measure bcf_run_2x "$BCF" --quiet run --input "$WORK/corpus2" --out "$WORK/o2"
if [[ -x $PY ]] && $PY -c 'import pandas, openpyxl, python_calamine' 2>/dev/null; then
  measure pandas_openpyxl "$PY" bench/pandas_totals.py "$WORK/corpus" openpyxl
  measure pandas_calamine "$PY" bench/pandas_totals.py "$WORK/corpus" calamine
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo
echo "ratios (target in brackets):"
echo "  bcf run / floor              $(ratio "$bcf_run_s" "$floor_s")×   [<= 1.0]"
if [[ -n ${pandas_openpyxl_s:-} ]]; then
  echo "  pandas+openpyxl / bcf run    $(ratio "$pandas_openpyxl_s" "$bcf_run_s")×   [>= 20]"
  echo "  pandas+calamine / bcf run    $(ratio "$pandas_calamine_s" "$bcf_run_s")×   [> 1]"
fi
echo "  2x corpus / 1x corpus        $(ratio "$bcf_run_2x_s" "$bcf_run_s")×   [<= 2.1], peak ${bcf_run_mb} MB -> ${bcf_run_2x_mb} MB [< 300, flat]"
echo "  unchanged rerun / full run   $(ratio "$bcf_rerun_s" "$bcf_run_s")×   [< 0.10]"
