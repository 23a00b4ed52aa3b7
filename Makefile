# Two commands on a fresh machine: `make run` (set up + full pipeline) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Nothing waits on the network: no telemetry, no update checks.
export KEDRO_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1
export NO_ALBUMENTATIONS_UPDATE := 1
export DVC_NO_ANALYTICS := 1
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR := false
export PYTHONUNBUFFERED := 1
# dvc.yaml's stage commands call `kedro` from this environment
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup run run-real test repro push pull viz mlflow-ui bench-synth bench-profile clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(VENV)/bin/dvc config --local core.analytics false >/dev/null 2>&1 || true
	touch $@

run: $(STAMP)  ## the whole DAG on the default profile (synthetic data, CPU, local MLflow + DVC)
	$(VENV)/bin/kedro run
	@# record what this run produced in dvc.lock: `dvc status` is clean and `dvc push` can share it
	$(VENV)/bin/dvc commit --force --quiet

run-real: $(STAMP)  ## the real-faces profile: pseudo-labelled + profiled photo pools (see conf/real/)
	$(VENV)/bin/kedro run --env real

test: $(STAMP)  ## lint (ruff), then the test suite
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/pytest

repro: $(STAMP)  ## DVC: rebuild only what changed, one stage per Kedro pipeline, then push
	$(VENV)/bin/dvc repro
	$(VENV)/bin/dvc push

pull: $(STAMP)
	$(VENV)/bin/dvc pull

viz: $(STAMP)
	$(VENV)/bin/kedro viz run

mlflow-ui: $(STAMP)
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///mlruns.db

bench-synth: $(STAMP)
	$(VENV)/bin/headpose bench-synth

bench-profile: $(STAMP)
	$(VENV)/bin/headpose bench-profile

clean:
	rm -rf $(VENV)
