#!/usr/bin/env bash
# make compare REF=<commit>: are this tree's published outputs byte-identical to REF's?
#
# Builds REF in a git worktree, runs both builds on the same inputs (the bundled samples and a
# `bcf-fixtures` national corpus), and compares every published file byte for byte except
# run.json (times and run ids live there by design). Each build reads its own schemas/.
# A REF that predates a template family cannot read that family's returns, so restrict the
# comparison to what both know:
#   make compare REF=99afebb FAMILIES=planning-2015-16,planning-2017-19,year-end-2020-21,planning-2023-25 \
#        SAMPLES="2015-16 2017-19 2020-21 2023-25"
# EXCLUDE="name ..." leaves out files that differ by design between the two (diff --exclude).
# Exit 0 when every input gives identical outputs, 1 (with the differing files listed) otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${REF:?usage: make compare REF=<commit> [FAMILIES=ids] [SAMPLES=\"subfolders\"] [SEED=n]}
FAMILIES=${FAMILIES:-all}
SEED=${SEED:-1}
WORK=${COMPARE_DIR:-out/compare}
sha=$(git rev-parse --verify "$REF^{commit}")
# Outside this tree: cargo would take a checkout inside it for a member of this workspace.
src="${TMPDIR:-/tmp}/bcf-compare/src-${sha:0:12}"

rm -rf "$WORK/inputs" "$WORK/runs"
mkdir -p "$WORK/inputs" "$WORK/runs"
[[ -d "$src" ]] || git worktree add --detach --force "$src" "$sha" >/dev/null
# One build id for both, so Parquet's created_by does not differ just because the commits do.
export BCF_BUILD=compare
cargo build --release --quiet --bin bcf
cargo build --release --quiet -p bcf-fixtures
CARGO_TARGET_DIR="$src/target" cargo build --release --quiet --bin bcf --manifest-path "$src/Cargo.toml"
new=target/release/bcf
old="$src/target/release/bcf"

samples="$WORK/inputs/samples"
mkdir -p "$samples"
if [[ -n "${SAMPLES:-}" ]]; then
  for d in $SAMPLES allocations; do cp -r "fixtures/samples/$d" "$samples/"; done
else
  cp -r fixtures/samples/. "$samples/"
fi
target/release/bcf-fixtures --out "$WORK/inputs/corpus" --seed "$SEED" --families "$FAMILIES" >/dev/null

# The folder a reader sees: OUT/current since snapshots, OUT itself before them.
published() { if [[ -e "$1/current" ]]; then echo "$1/current"; else echo "$1"; fi; }

status=0
for input in samples corpus; do
  "$new" --quiet run --input "$WORK/inputs/$input" --out "$WORK/runs/$input-new" >/dev/null || true
  "$old" --quiet run --input "$WORK/inputs/$input" --out "$WORK/runs/$input-old" >/dev/null || true
  a=$(published "$WORK/runs/$input-old")
  b=$(published "$WORK/runs/$input-new")
  excludes=(--exclude run.json --exclude .bcf)
  for e in ${EXCLUDE:-}; do excludes+=(--exclude "$e"); done
  diffs=$(diff -rq "${excludes[@]}" "$a" "$b" || true)
  if [[ -z "$diffs" ]]; then
    echo "$input: identical ($(find "$b/" -type f | wc -l) files)"
  else
    echo "$input: outputs differ from $REF"
    echo "$diffs" | sed 's/^/  /'
    status=1
  fi
done
exit $status
