# medsr_nb — one command sets up and runs the study, one sets up and runs the tests (see README.md).
SHELL := /bin/bash
PROFILE ?= quick
JOBS ?= 2
PY := .venv/bin/python
STAMP := .venv/.setup-stamp

.PHONY: setup test study docs export readme
setup: $(STAMP)
$(STAMP): settings.ini setup.py constraints.txt scripts/setup_env.sh
	bash scripts/setup_env.sh
	touch $(STAMP)

test: setup            ## every notebook's tests + a smoke run of the study + the docs site in Chromium
	bash scripts/test.sh

study: setup           ## the whole study for PROFILE (quick: CPU, ~28 min on 2 cores; full: GPU); JOBS tasks side by side
	$(PY) scripts/run_study.py --profile $(PROFILE) --jobs $(JOBS)

docs: setup            ## offline HTML docs in site/ (nbdev_docs needs Quarto), checked in headless Chromium
	$(PY) scripts/build_docs.py
	bash scripts/ensure_chromium.sh
	$(PY) scripts/check_docs.py

export: setup
	.venv/bin/nbdev_export && .venv/bin/nbdev_clean && $(PY) scripts/scrub_outputs.py nbs/*.ipynb

readme: setup          ## README.md from nbs/index.ipynb (what nbdev_readme does, without Quarto)
	.venv/bin/jupyter nbconvert --to markdown nbs/index.ipynb --output-dir . --output README
