#!/usr/bin/env bash
# Sourced by test-on-gpu.sh and study-on-gpu.sh: unpacks runs/gpu-carry/carry.tar.gz
# (scripts/scale/pack-carry.sh) into the checkout and checks the Python stack.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
if [ -f runs/gpu-carry/carry.tar.gz ]; then
  tar -xzf runs/gpu-carry/carry.tar.gz
fi
[ -x bin/sinktrain ] || { echo "gpu-env: bin/sinktrain is missing: run scripts/scale/pack-carry.sh here and carry runs/gpu-carry" >&2; exit 1; }
[ -f runs/data/manifest.json ] || { echo "gpu-env: runs/data is missing: run scripts/scale/pack-carry.sh and carry runs/gpu-carry" >&2; exit 1; }
RESULTS=${OUT:-runs/gpu-results}
mkdir -p "$RESULTS"
python3 - <<'PY' 2>&1 | tee "$RESULTS/versions.txt"
import platform, torch, transformers, accelerate, pyarrow, numpy
print("python", platform.python_version(), "| torch", torch.__version__, "| transformers", transformers.__version__,
      "| accelerate", accelerate.__version__, "| pyarrow", pyarrow.__version__, "| numpy", numpy.__version__)
print("cuda", torch.cuda.is_available(), torch.cuda.device_count(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
PY
bin/sinktrain --help >/dev/null && echo "bin/sinktrain runs" | tee -a "$RESULTS/versions.txt"
nproc | sed 's/^/cpus /' | tee -a "$RESULTS/versions.txt"
