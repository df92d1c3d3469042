# bcf: Better Care Fund returns pipeline. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
CARGO ?= cargo
VENV := .venv
PY := $(VENV)/bin/python
OUT ?= out/demo

.PHONY: demo test lint venv fmt clean report-check chromium libreoffice tmux bench bench-venv fuzz compare selfcheck wasm-tools node-deps bench-paired

## Run the whole pipeline on the bundled sample returns and print the national totals.
demo:
	$(CARGO) run --quiet -- run --input fixtures/samples --out $(OUT)
	@echo "The report: $(abspath $(OUT))/current/report.html (open it in a browser; the workbook for Excel is bcf-national.xlsx beside it)"

## Every test, including the pyarrow/DuckDB/openpyxl read-back (installed into $(VENV)), the
## national workbook in LibreOffice and the self-check page in headless Chromium
## (playwright-core and axe-core from npm).
test: venv selfcheck chromium libreoffice tmux node-deps
	BCF_PYTHON=$(abspath $(PY)) BCF_SELFCHECK_PKG=$(abspath $(SELFCHECK)/pkg) $(CARGO) test --workspace --all-targets

## The self-check page, $(SELFCHECK)/bcf-selfcheck.html: one file that checks a return in the
## browser, offline. ALLOCATIONS=PATH (an allocations workbook, or a folder of them) puts the
## published allocations inside, so the page checks minimum contributions too.
SELFCHECK := out/selfcheck
WASM := target/wasm32-unknown-unknown/wasm/bcf_selfcheck.wasm
selfcheck: wasm-tools
	$(CARGO) build --quiet -p bcf-selfcheck --target wasm32-unknown-unknown --profile wasm
	mkdir -p $(SELFCHECK)/pkg && cp $(WASM) $(SELFCHECK)/pkg/bcf_selfcheck.wasm
	$(CARGO) run --quiet --bin bcf -- selfcheck-page --pkg $(SELFCHECK)/pkg \
		$(if $(ALLOCATIONS),--allocations "$(ALLOCATIONS)") --out $(SELFCHECK)/bcf-selfcheck.html

## The WebAssembly target.
wasm-tools:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

## playwright-core (drives Debian's Chromium; downloads no browser) and axe-core, from npm.
node-deps: tests/selfcheck/node_modules/.installed
tests/selfcheck/node_modules/.installed: tests/selfcheck/package.json tests/selfcheck/package-lock.json
	cd tests/selfcheck && npm ci --no-audit --no-fund --silent
	touch $@

## Render the report of a national corpus (every area and family, a few faulty returns and the
## hostile fixtures) in headless Chromium at 1,280 px: totals equal the Parquet, nothing wider
## than the window, under 15,000 px tall; a screenshot and a PDF in out/report-check-artifacts.
REPORT_CORPUS := out/report-check-corpus
report-check: venv chromium
	rm -rf $(REPORT_CORPUS)
	$(CARGO) run --quiet -p bcf-fixtures -- --out $(REPORT_CORPUS) --faulty --faulty-areas 35 > /dev/null
	cp -R fixtures/hostile $(REPORT_CORPUS)/hostile
	$(CARGO) run --quiet --bin bcf -- --quiet run --input $(REPORT_CORPUS) --out out/report-check > /dev/null
	$(PY) tests/report/check_in_chromium.py out/report-check out/report-check-artifacts

## Debian's Chromium, installed if missing.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## tmux (a real terminal for the progress bar's test), installed if missing.
tmux:
	@command -v tmux >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null; }

## LibreOffice Calc without a GUI (opens the national workbook in the tests), installed if missing.
libreoffice:
	@command -v soffice >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-calc-nogui >/dev/null; }

## Benchmarks on a synthetic national corpus: ratios against the floor and pandas; the
## self-check page's size and speed and bcf check's (bench/selfcheck.sh).
bench: bench-venv selfcheck node-deps chromium
	PY=$(abspath $(PY)) bench/run.sh
	bench/selfcheck.sh

## `bcf run` against another commit's, in alternation on the bench corpus: make bench-paired REF=<commit>
bench-paired:
	bench/paired.sh

## Byte-identity of published outputs against another commit: make compare REF=<commit>
## (see bench/compare.sh for FAMILIES, SAMPLES and EXCLUDE).
compare:
	bench/compare.sh

bench-venv: venv
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt

## Fuzz workbook reading and amount parsing (proptest): FUZZ_CASES cases per property, bounded
## by FUZZ_TIMEOUT seconds. Failures are minimised and saved under tests/proptest-regressions/.
FUZZ_CASES ?= 5000
FUZZ_TIMEOUT ?= 900
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) timeout $(FUZZ_TIMEOUT) $(CARGO) test --test main fuzz:: -- --test-threads 2

## Formatting and lints, as CI runs them.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Python clients used by tests and benchmarks (PyPI).
venv: $(VENV)/.installed
$(VENV)/.installed: tests/clients/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tests/clients/requirements.txt
	touch $@

clean:
	rm -rf out $(VENV)
	$(CARGO) clean
