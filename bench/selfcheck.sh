#!/usr/bin/env bash
# make bench (part): the self-check page and bcf check on the bench corpus's 2023-25 returns.
#   - the page's size [< 2 MB];
#   - checking one return in the page, in headless Chromium [< 1 s]: the median over the
#     returns, the first file (the page just opened) and the later ones apart;
#   - `bcf check` on one return, the release binary, a process per file [< 50 ms].
# Expects out/selfcheck/pkg (make selfcheck), tests/selfcheck/node_modules (make node-deps) and
# the corpus bench/run.sh writes.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${BENCH_DIR:-out/bench}
corpus="$WORK/corpus"
family=planning-2023-25
mapfile -t returns < <(find "$corpus/$family" -maxdepth 1 -name '*.xlsx' | sort)
(( ${#returns[@]} > 0 )) || { echo "no $family returns under $corpus: run bench/run.sh first"; exit 1; }
cargo build --release --quiet --bin bcf
BCF=target/release/bcf
page="$WORK/selfcheck/bcf-selfcheck.html"
"$BCF" selfcheck-page --pkg out/selfcheck/pkg --allocations "$corpus/allocations" --out "$page" >/dev/null
bytes=$(stat -c %s "$page")
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

node tests/selfcheck/run_page.mjs check "$page" "${returns[@]}" > "$WORK/selfcheck/page.json"
first_ms=$(python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["results"][0]["ms"])' "$WORK/selfcheck/page.json")
later_ms=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][1:]; print("\n".join("%.1f" % x["ms"] for x in r))' "$WORK/selfcheck/page.json" | median)

check_ms=()
for f in "${returns[@]:0:40}"; do
  t0=$(date +%s%N)
  "$BCF" check --allocations "$corpus/allocations" "$f" >/dev/null || true
  t1=$(date +%s%N)
  check_ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')")
done
check_median=$(printf '%s\n' "${check_ms[@]}" | median)

echo
echo "self-check (${#returns[@]} $family returns; targets in brackets):"
printf '  page size                    %8.2f MB   [< 2]\n' "$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')"
printf '  page, first file             %8.0f ms   [< 1000]\n' "$first_ms"
printf '  page, later files (median)   %8.1f ms   [< 1000]\n' "$later_ms"
printf '  bcf check, one return        %8.1f ms   [< 50]  (median of %d, a process each)\n' "$check_median" "${#check_ms[@]}"
