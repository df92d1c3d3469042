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
cargo build --release --quiet -p bcf-fixtures
BCF=target/release/bcf
FIXTURES=target/release/bcf-fixtures
FLOOR=target/release/examples/floor

corpus() { # DIR SEED
  [[ -f "$1/.done" ]] || { rm -rf "$1"; "$FIXTURES" --out "$1" --seed "$2" >/dev/null; touch "$1/.done"; }
}
corpus "$WORK/corpus" "$SEED"
corpus "$WORK/corpus2/a" "$SEED"
corpus "$WORK/corpus2/b" "$((SEED + 1000))"
returns=$(find "$WORK/corpus" -name '*.xlsx' | wc -l)

# once NAME CMD...: one timed run of CMD; appends its wall seconds to $NAME_times. rss NAME
# CMD...: one run of CMD under GNU time, keeping its peak RSS (kB) in $NAME_kb; runs timed by
# `once` are not wrapped, as the wrapper's own ~2 ms would be 10% of an unchanged rerun.
# summary NAME: the median of its runs into $NAME_s (and MB into $NAME_mb), printed. This
# machine's speed drifts by ±20% within seconds, so the floor and `bcf run` alternate, and each
# figure is a median.
once() {
  local name=$1; shift
  local secs t0 t1
  t0=$(date +%s%N)
  "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"
  t1=$(date +%s%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
  eval "${name}_times+=($secs)"
  return 0
}
rss() {
  local name=$1; shift
  local log="$WORK/$name.time" kb
  /usr/bin/time -f "%M" -o "$log" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"
  read -r kb < "$log"
  local max="${name}_kb"
  (( kb > ${!max:-0} )) && printf -v "$max" '%s' "$kb"
  return 0
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
summary() {
  local name=$1 times kb
  eval "times=(\"\${${name}_times[@]}\")"
  kb="${name}_kb"
  printf -v "${name}_s" '%s' "$(printf '%s\n' "${times[@]}" | median)"
  printf -v "${name}_mb" '%s' "$((${!kb} / 1024))"
  local s="${name}_s" mb="${name}_mb"
  printf '  %-28s %8.3f s  %6d MB   (median of %d)\n' "$name" "${!s}" "${!mb}" "${#times[@]}"
}

echo "corpus: $returns workbooks in $WORK/corpus ($(du -sh "$WORK/corpus" | cut -f1)), $(nproc) cores"
# A timed run writes into a new folder. The last round's outputs are moved aside, not deleted,
# until timing is over: this machine's ext4 has no journal, and there a file created within
# 30 s of many deletions in its block group is allocated only after a scan past each recently
# deleted inode (the kernel's find_inode_bit/recently_deleted). After ten rounds of deleting
# outputs, that scan more than doubled the time to write the 160 feedback files of twice the
# corpus: a cost of the bench's own deleting, which no analyst's run has.
# The deletions of an earlier bench's outputs age out first.
TRASH="$WORK/trash" DELETED="$WORK/.trash-deleted"
[[ -e $TRASH ]] && rm -rf "$TRASH" && touch "$DELETED"
if [[ -f $DELETED ]]; then
  left=$(($(stat -c %Y "$DELETED") + 31 - $(date +%s)))
  if ((left > 0)); then
    echo "waiting ${left} s for the outputs deleted by the last bench to age out"
    sleep "$left"
  fi
fi
mkdir -p "$TRASH"
aside() { # DIR: moves DIR (if any) into the trash, to be deleted after timing
  [[ -e $1 ]] && mv "$1" "$(mktemp -d "$TRASH/XXXXXX")/"
  return 0
}
REPS=${BENCH_REPS:-11}
# Each `bcf run` is also compared with the floor runs either side of it: the machine's speed
# changes between runs, and a ratio of neighbours cancels most of that.
paired=()
last() { local -n a=$1; echo "${a[-1]}"; }
for _ in $(seq "$REPS"); do
  once floor "$FLOOR" "$WORK/corpus"
  before=$(last floor_times)
  aside "$WORK/o1"
  once bcf_run "$BCF" --quiet run --input "$WORK/corpus" --out "$WORK/o1"
  run=$(last bcf_run_times)
  once floor "$FLOOR" "$WORK/corpus"
  paired+=("$(awk -v r="$run" -v a="$before" -v b="$(last floor_times)" 'BEGIN { printf "%.3f", 2 * r / (a + b) }')")
  once bcf_rerun "$BCF" --quiet run --input "$WORK/corpus" --out "$WORK/o1"
  aside "$WORK/o2"
  once bcf_run_2x "$BCF" --quiet run --input "$WORK/corpus2" --out "$WORK/o2"
done
# Peak memory, from runs of their own under GNU time.
rss floor "$FLOOR" "$WORK/corpus"
aside "$WORK/o1"
rss bcf_run "$BCF" --quiet run --input "$WORK/corpus" --out "$WORK/o1"
rss bcf_rerun "$BCF" --quiet run --input "$WORK/corpus" --out "$WORK/o1"
aside "$WORK/o2"
rss bcf_run_2x "$BCF" --quiet run --input "$WORK/corpus2" --out "$WORK/o2"
for n in floor bcf_run bcf_rerun bcf_run_2x; do summary "$n"; done
paired_ratio=$(printf '%s\n' "${paired[@]}" | median)
# Each run on twice the corpus against the single-corpus runs either side of it (the one of its
# round and the next round's), as for the floor.
paired_2x=()
for ((i = 0; i < ${#bcf_run_2x_times[@]}; i++)); do
  next=${bcf_run_times[i + 1]:-${bcf_run_times[i]}}
  paired_2x+=("$(awk -v r="${bcf_run_2x_times[i]}" -v a="${bcf_run_times[i]}" -v b="$next" 'BEGIN { printf "%.3f", 2 * r / (a + b) }')")
done
paired_2x_ratio=$(printf '%s\n' "${paired_2x[@]}" | median)
rm -rf "$TRASH" && touch "$DELETED"
if [[ -x $PY ]] && $PY -c 'import pandas, openpyxl, python_calamine' 2>/dev/null; then
  # One run each, under GNU time: their seconds dwarf its overhead.
  for engine in openpyxl calamine; do
    t0=$(date +%s%N)
    rss "pandas_$engine" "$PY" bench/pandas_totals.py "$WORK/corpus" "$engine"
    t1=$(date +%s%N)
    eval "pandas_${engine}_times+=($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }'))"
    summary "pandas_$engine"
  done
fi

ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%.*f", d, (b > 0 ? a / b : 0) }'; } # A B [DECIMALS]
echo
echo "ratios (target in brackets):"
echo "  bcf run / floor              $(ratio "$bcf_run_s" "$floor_s" 3)×   [<= 1.0]  (median of run/neighbouring floors: ${paired_ratio}×)"
if [[ -n ${pandas_openpyxl_s:-} ]]; then
  echo "  pandas+openpyxl / bcf run    $(ratio "$pandas_openpyxl_s" "$bcf_run_s")×   [>= 20]"
  echo "  pandas+calamine / bcf run    $(ratio "$pandas_calamine_s" "$bcf_run_s")×   [> 1]"
fi
echo "  2x corpus / 1x corpus        $(ratio "$bcf_run_2x_s" "$bcf_run_s" 3)×   [<= 2.1]  (median of 2x run/neighbouring 1x runs: ${paired_2x_ratio}×)"
echo "                               peak ${bcf_run_mb} MB -> ${bcf_run_2x_mb} MB [< 300, flat]"
echo "  unchanged rerun / full run   $(ratio "$bcf_rerun_s" "$bcf_run_s" 3)×   [< 0.10]"
