#!/usr/bin/env bash
# make bench-paired REF=<commit>: is `bcf run` slower than REF's on the bench corpus? Builds REF
# in a git worktree (as make compare does) and runs the two binaries in alternation, so the
# machine's drift falls on both; prints each one's median and the median of the per-round
# ratios [<= 1.05].
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${REF:?usage: make bench-paired REF=<commit> [BENCH_REPS=n]}
WORK=${BENCH_DIR:-out/bench}
REPS=${BENCH_REPS:-11}
sha=$(git rev-parse --verify "$REF^{commit}")
src="${TMPDIR:-/tmp}/bcf-compare/src-${sha:0:12}"
[[ -d "$src" ]] || git worktree add --detach --force "$src" "$sha" >/dev/null
cargo build --release --quiet --bin bcf
CARGO_TARGET_DIR="$src/target" cargo build --release --quiet --bin bcf --manifest-path "$src/Cargo.toml"
[[ -f "$WORK/corpus/.done" ]] || { echo "no bench corpus: run make bench first"; exit 1; }
timed() { # BIN OUT: one cold run's wall milliseconds
  rm -rf "$2"
  local t0 t1
  t0=$(date +%s%N)
  "$1" --quiet run --input "$WORK/corpus" --out "$2" >/dev/null
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
new=() old=() ratios=()
for _ in $(seq "$REPS"); do
  o=$(timed "$src/target/release/bcf" "$WORK/paired-old")
  n=$(timed target/release/bcf "$WORK/paired-new")
  o2=$(timed "$src/target/release/bcf" "$WORK/paired-old")
  old+=("$o" "$o2") new+=("$n")
  ratios+=("$(awk -v n="$n" -v a="$o" -v b="$o2" 'BEGIN { printf "%.3f", 2 * n / (a + b) }')")
done
echo
echo "bcf run, this tree against ${REF} (${REPS} rounds, old-new-old):"
echo "  ${REF}: $(printf '%s\n' "${old[@]}" | median) ms   this tree: $(printf '%s\n' "${new[@]}" | median) ms"
echo "  this tree / ${REF}: $(printf '%s\n' "${ratios[@]}" | median)×   [<= 1.05]"
