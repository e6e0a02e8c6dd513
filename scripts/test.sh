#!/usr/bin/env bash
# The README's test command (`make test`) runs this after setting up .venv:
#   1. the library is in step with the notebooks (nbdev_export changes nothing),
#   2. every notebook's tests (nbdev_test; cells flagged `slow` skipped),
#   3. a smoke run of the whole papermill study (profile `smoke`) in a scratch results folder, on the phantoms
#      and on phantom cases written as BraTS files (the real-data path),
#   4. the offline docs site, rendered and checked in headless Chromium.
# Ends with one summary line "tests: N passed, M failed" and a non-zero exit status on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export PYTHONWARNINGS=ignore NO_MKDOCS_2_WARNING=1
# Every step runs under a time limit: a hang fails that step (SIGABRT: with PYTHONFAULTHANDLER set, Python prints the
# stack of every thread first) and the run goes on, instead of stalling CI until it is killed.
export PYTHONFAULTHANDLER=1
limit() { local s=$1; shift; timeout -s ABRT -k 30 "$s" "$@"; }
passed=0; failed=0; failures=()
ok()   { passed=$((passed+1)); echo "PASS $1"; }
bad()  { failed=$((failed+1)); failures+=("$1"); echo "FAIL $1"; }

# 1. exported library in step with the notebooks
if git rev-parse --git-dir >/dev/null 2>&1; then
  nbdev_export >/dev/null 2>&1
  if git diff --quiet -- medsr_nb && [ -z "$(git status --porcelain -- medsr_nb)" ]; then ok "nbdev_export: medsr_nb/ matches nbs/"
  else bad "nbdev_export: medsr_nb/ differs from nbs/"; git status --porcelain -- medsr_nb | head; fi
fi

# 1b. every notebook declares the project's kernel (the one `make setup` registers and papermill runs)
bad_k=$(python -c "import json,glob;print(' '.join(f for f in sorted(glob.glob('nbs/*.ipynb')) if json.load(open(f))['metadata'].get('kernelspec',{}).get('name')!='medsr_nb'))")
if [ -z "$bad_k" ]; then ok "notebooks declare the medsr_nb kernel"; else bad "notebooks not on the medsr_nb kernel: $bad_k"; fi

# 1c. no machine folders or warnings in stored outputs (docs pages, published reports)
if python scripts/scrub_outputs.py --check nbs/*.ipynb results/report/*.ipynb; then ok "stored outputs carry no machine paths or warnings"
else bad "stored outputs need scripts/scrub_outputs.py"; fi

# 2. notebook tests, one nbdev_test per notebook so each counts
for nb in nbs/*.ipynb; do
  t0=$SECONDS
  if out=$(limit 900 nbdev_test --path "$nb" 2>&1); then ok "nbdev_test $nb ($((SECONDS-t0))s)"
  else bad "nbdev_test $nb"; echo "$out" | tail -40; fi
done

# 3. smoke run of the study (papermill notebooks 03–06)
scratch=$(mktemp -d)
# (--jobs 2: the stage scheduler that `make study` uses, two stages side by side)
if MEDSR_RESULTS="$scratch/results" MEDSR_DATA="$scratch/data" limit 1200 python scripts/run_study.py --profile smoke --jobs 2 --check; then
  ok "study smoke run (scripts/run_study.py --profile smoke --jobs 2)"
else bad "study smoke run"; fi

# 3b. the real-data path (file discovery, patient split, tumour labels) on phantom cases written in the BraTS layout
if python -c "from medsr_nb.io import write_brats_demo; write_brats_demo('$scratch/brats_demo', n_cases=3, size=32, nz=12)" &&
   MEDSR_RESULTS="$scratch/results" MEDSR_DATA="$scratch/data" limit 1200 python scripts/run_study.py --profile smoke \
     --source brats --data-root "$scratch/brats_demo" --check; then
  ok "study smoke run on BraTS-layout files (--source brats)"
else bad "study smoke run --source brats"; fi

# 4a. nbdev's own docs preprocessing (what `nbdev_docs` runs before Quarto): it executes every cell that imports,
#     so a test cell mixing imports with code that needs earlier cells breaks it (imports live in the top cells)
if limit 600 nbdev_proc_nbs --n_workers 0 >/dev/null 2>&1; then ok "nbdev_proc_nbs (nbdev_docs' preprocessing)"
else bad "nbdev_proc_nbs"; fi

# 4. docs site
if limit 900 python scripts/build_docs.py && bash scripts/ensure_chromium.sh && limit 600 python scripts/check_docs.py; then ok "docs site renders in Chromium"
else bad "docs site"; fi

# 5. the package as a user gets it: the wheel, installed in a fresh venv (its dependencies reached through a .pth
#    pointing at .venv's site-packages, whose editable hook is then not run), imported and used outside the checkout
w=$(mktemp -d)
sp=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if limit 600 bash -c "set -e
    python -m pip wheel -q --no-deps --no-build-isolation -w '$w/dist' . >/dev/null
    python -m venv '$w/venv'
    '$w/venv/bin/python' -m pip install -q --no-deps '$w'/dist/medsr_nb-*.whl
    echo '$sp' > \$('$w/venv/bin/python' -c 'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])')/zz_deps.pth
    cd '$w' && MEDSR_DATA='$w/data' MEDSR_RESULTS='$w/results' '$w/venv/bin/python' -c '
import os, medsr_nb
from pathlib import Path
from medsr_nb.core import data_dir, results_dir
from medsr_nb.datasets import SyntheticPairs
assert Path(medsr_nb.__file__).is_relative_to(\"$w/venv\"), medsr_nb.__file__          # the wheel, not the checkout
assert (data_dir(), results_dir()) == (Path(\"$w/data\"), Path(\"$w/results\"))
from importlib.metadata import metadata
assert {\"dev\", \"study\"} <= set(metadata(\"medsr_nb\").get_all(\"Provides-Extra\")), metadata(\"medsr_nb\").get_all(\"Provides-Extra\")
ds = SyntheticPairs(\"ct_dose25\", \"train\", n=4, size=32, workers=0, progress=False)
assert len(ds) == 4 and ds.path.is_relative_to(\"$w/data\") and ds[0][\"input\"].shape == (1, 32, 32)
print(\"wheel:\", Path(medsr_nb.__file__).parent, \"->\", ds.path)'
    '$w/venv/bin/medsr-restore' --help >/dev/null"; then ok "wheel in a fresh venv: imports, builds a dataset outside the checkout, medsr-restore runs"
else bad "wheel in a fresh venv"; fi
rm -rf "$w"

[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
