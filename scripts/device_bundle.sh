#!/usr/bin/env bash
# Prepare `.gpu/` (git-ignored) for running the study on a lent GPU box that has torch/lightning/scikit-image but no
# Jupyter, MONAI, lpips or nibabel and no network: Python 3.12 wheels of the missing pure-Python packages (SimpleITK, a
# 52 MB wheel, is not needed: only N4 and resampling import it, when called, and the study calls neither), the converted LPIPS AlexNet
# weights (the 59 MB VGG16 file does not fit the 64 MiB transfer limit, so use esrgan_nopercep there), and
# `.gpu/run.sh`, which runs the `gpu` profile with the in-process engine and returns the results (no checkpoints) in $OUT.
# Usage: bash scripts/device_bundle.sh; then run `bash .gpu/run.sh` there with `.gpu` carried.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
grep -qx '/gpu_results/' .git/info/exclude 2>/dev/null || echo '/gpu_results/' >> .git/info/exclude
mkdir -p .gpu/whl .gpu/torch/hub/checkpoints
for p in monai==1.6.1 lpips==0.1.4 nibabel==5.4.2 fastcore==1.14.5; do
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --platform any -d .gpu/whl "$p"
done
cp "$(.venv/bin/python -c 'from medsr_nb.pretrained import backbone_path; print(backbone_path("alexnet"))')" .gpu/torch/hub/checkpoints/
cat > .gpu/run.sh <<'RUN'
#!/usr/bin/env bash
# bash .gpu/run.sh --tasks ct_dose25 [run_study options]: the `gpu` profile's train + evaluate + segment for the tasks.
# $OUT gets log.txt, results.tgz (metrics, markers, executed notebooks, TensorBoard logs; no checkpoints) and
# <task>__restored.pt with one <task>__<model>_samples.pt per model (merge them back with
# `python scripts/device_bundle_unpack.py <files folder>`, then run 06_report there). Results and data live under /tmp,
# which a warm device keeps between calls (the checkout is replaced by each call's copy): a second call resumes there.
set -u
PY=${PY:-python3}
export PYTHONPATH=$PWD   # the checkout's medsr_nb (the box has no editable install)
if [ -z "${SKIP_WHEELS:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
export TORCH_HOME=$PWD/.gpu/torch MEDSR_RESULTS=${MEDSR_RESULTS:-/tmp/gpu_results} MEDSR_DATA=${MEDSR_DATA:-/tmp/data} PYTHONUNBUFFERED=1
nvidia-smi -L 2>/dev/null || echo 'no nvidia-smi'
set -o pipefail
timeout ${STUDY_TIMEOUT:-540} $PY scripts/run_study.py --profile ${PROFILE:-gpu} --engine inprocess \
  --stages ${STAGES:-train,evaluate,segment,time} "$@" 2>&1 | tee "$OUT/log.txt" | grep -v -E "it/s|s/it|^\s*$" | cut -c1-300 | tail -60
rc=$?
cd "$MEDSR_RESULTS" && tar czf "$OUT/results.tgz" --exclude='*.ckpt' --exclude='checkpoints' --exclude='restored.pt' .
# restored.pt holds K samples per model: split it so every returned file stays under the 16 MiB limit
$PY - <<'PY'
import glob, os, torch
for f in glob.glob('runs/*/*/restored.pt'):
    task, d = f.split('/')[-2], torch.load(f, weights_only=True)
    for k in [k for k in d if k.endswith('_samples') and torch.is_tensor(d[k])]: torch.save(d.pop(k), f"{os.environ['OUT']}/{task}__{k}.pt")
    torch.save(d, f"{os.environ['OUT']}/{task}__restored.pt")
PY
exit $rc
RUN
chmod +x .gpu/run.sh
du -sh .gpu
