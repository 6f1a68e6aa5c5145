# The two commands of the README's quick start. Each creates or reuses
# .venv/ (installing only what is missing) and then runs.
PY := .venv/bin/python
CONFIG ?= configs/ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py
WORK_DIR ?= work_dirs/$(basename $(notdir $(CONFIG)))

.PHONY: env main test test-fast lint

env:
	bash tools/setup_env.sh

# Train the tiny model on the shipped COCO images, then evaluate it.
main: env
	$(PY) tools/train.py $(CONFIG) --work-dir $(WORK_DIR)
	$(PY) tools/test.py $(CONFIG) $$(cat $(WORK_DIR)/last_checkpoint) \
		--work-dir $(WORK_DIR)

lint: env
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

test: lint
	$(PY) -m pytest -q

# Everything but the tests marked slow (Runner, tool and demo subprocesses).
test-fast: env
	$(PY) -m pytest -q -m "not slow"
