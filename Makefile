# The two set-up commands of the README: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist workers for `make test`: each has its own PostgreSQL database (tests/conftest.py);
# the tests of tests/ops (real processes, benches) run one at a time on one of them.
TEST_WORKERS ?= 2

.PHONY: run test lint bench soak clean browser

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PY) not found)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kpibot db upgrade
	$(BIN)/kpibot run

test: $(STAMP)
	bash scripts/test-setup.sh
	$(BIN)/ruff format --check bot commands scoring storage tests bench
	$(BIN)/ruff check bot commands scoring storage tests bench
	$(BIN)/mypy scoring commands storage bot bench
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

bench: $(STAMP)
	for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# One simulated month for 10,000 agents in 1,000 teams through the strict fakes; kept out of `make test`.
soak: $(STAMP)
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) kpibot.db* kpibot-inbox.db* .pytest_cache .mypy_cache .ruff_cache
