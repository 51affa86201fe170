#!/usr/bin/env bash
# A Slurm job array that generates 100,000 Fashion-MNIST images in 8 shards with `diffusion-ml generate`.
# Slurm sets SLURM_ARRAY_TASK_ID (and SLURM_ARRAY_TASK_MIN); `--shard env/8` turns them into the shard index, so the
# array must have exactly 8 tasks. Resubmitting the same script resumes: finished PNGs are skipped.
#SBATCH --job-name=diffusion-ml-generate
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --output=generate-%A_%a.log
set -euo pipefail

MODEL=${MODEL:-zoo/fashion-mnist-unet32/model.ckpt}
OUT=${OUT:-$PWD/fashion-mnist-100k}   # on a file system every node sees

diffusion-ml generate \
  --model "$MODEL" \
  --count 100000 --batch-size 256 \
  --sampler dpm-solver++-2m --steps 20 --guidance 2 --classes all --seed 2026 \
  --threads "${SLURM_CPUS_PER_TASK:-2}" \
  --out "$OUT" \
  --shard env/8
