#!/usr/bin/env bash
# Runs the GPU measurements docs/benchmarks.md asks for, with the bundle from pack.sh, on a machine with an NVIDIA GPU
# and PyTorch: `generate` images/s of the zoo's Fashion-MNIST models (TorchSharp on CUDA, DPM-Solver++(2M) 20 steps,
# guidance 2, batch 256), the reference UNet's training/sampling rates against PyTorch on the same GPU, and the time per
# row of the zoo denoisers by rows per network call (bench passes).
# Usage, from the repository root:  samples/gpu-run/run.sh [OUTPUT_DIR]     (default: $OUT, else ./gpu-run-output)
# Environment: DEVICE (default cuda), PYTHON (an interpreter with torch; default /opt/torch/.venv/bin/python3, else
# python3), LIBTORCH (the folder with libtorch*.so; default PyTorch's own torch/lib), QUICK=1 (tiny sizes: checks the
# bundle and this script on a CPU machine before GPU time is spent; docs/gpu.md shows the command).
set -uo pipefail
out=${1:-${OUT:-gpu-run-output}}
mkdir -p "$out"
log="$out/gpu-run.log"
device=${DEVICE:-cuda}
python=${PYTHON:-/opt/torch/.venv/bin/python3}
[ -x "$python" ] || python=$(command -v python3)
libtorch=${LIBTORCH:-$("$python" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')}
app=$(mktemp -d)
tar -C "$app" -xJf .gpu/diffusion-ml.tar.xz || { echo "no bundle: run samples/gpu-run/pack.sh first and carry .gpu" | tee "$log"; exit 1; }
export LD_LIBRARY_PATH="$libtorch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
dml="$app/diffusion-ml"

step() { # step NAME COMMAND...: runs, logs, times
  echo "### $1" | tee -a "$log"
  shift
  echo "\$ $*" >> "$log"
  local start=$(date +%s.%N)
  "$@" 2>&1 | grep -v NNPACK | tee -a "$log"
  echo "wall $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" | tee -a "$log"
}

{ date -u; uname -m; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
  "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'; } 2>&1 | tee "$log"

if [ "${QUICK:-0}" = 1 ]; then counts="16"; gen_batch=16; train_batches="8"; steps=2; ddim_batch=4; matrix=256; unet=(--base-channels 16 --attention 7)
  passes=(--rows 16 --pass-sizes 16,4 --repeats 1)
else counts="256 2048"; gen_batch=256; train_batches="128 512"; steps=20; ddim_batch=256; matrix=8192; unet=()
  passes=(--rows 4096 --pass-sizes 4096,1024,512,256,64 --repeats 3); fi

for model in fashion-mnist-latent-dit fashion-mnist-unet32; do
  for n in $counts; do
    step "generate $model $n images on $device" "$dml" generate --model "$model" --offline --backend torch --device "$device" \
      --sampler dpm-solver++-2m --steps 20 --guidance 2 --classes all -n "$n" --batch-size "$gen_batch" --out "$app/gen-$model-$n"
  done
done
for batch in $train_batches; do
  step "bench train reference UNet batch $batch on $device" "$dml" bench --mode train --device "$device" --python "$python" \
    "${unet[@]}" --batch-size "$batch" --steps "$steps" --warmup 3
done
step "bench ddim-20 reference UNet batch $ddim_batch on $device" "$dml" bench --mode ddim --device "$device" --python "$python" \
  "${unet[@]}" --batch-size "$ddim_batch" --steps 3 --warmup 1
# Whether one network call per batch (the GPU default of --evaluation-batch) is right there, as 64 rows is on the CPU.
for model in fashion-mnist-latent-dit fashion-mnist-unet32; do
  step "bench passes $model on $device" "$dml" bench passes -m "$model" --offline --device "$device" "${passes[@]}"
done
step "bench sgemm $matrix on $device" "$dml" bench --mode sgemm --device "$device" --python "$python" --matrix "$matrix" --steps "$steps" --warmup 3
rm -rf "$app"
