# The two commands: `make run` and `make test`. Both set everything up on first use.
PY := .venv/bin/python
STAMP := .venv/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh

## run: open the dashboard on the simulator
run: $(STAMP)
	$(PY) main.py dashboard --no-dialog

## test: the whole suite, headless
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -n 4 --dist loadfile

## bench: the benchmarks in tests/bench (never part of `make test`)
bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -s tests/bench --override-ini="addopts=-p no:cacheprovider"

lint: $(STAMP)
	$(PY) -m ruff check .
	.venv/bin/lint-imports
	$(PY) -m mypy

clean:
	rm -rf .venv .pytest_cache .ruff_cache .hypothesis .mypy_cache
