#!/usr/bin/env bash
# Packs the diffusion-ml CLI for a Linux x64 GPU machine that has PyTorch (with CUDA) but no .NET: self-contained,
# framework assemblies trimmed, TorchBackend=none (no libtorch in the bundle: TorchSharp binds to PyTorch's own CUDA
# libtorch through LD_LIBRARY_PATH, see run.sh). Writes .gpu/diffusion-ml.tar.xz, a folder .git/info/exclude ignores.
# Usage, from the repository root:  samples/gpu-run/pack.sh
# The tree that travels to the project's device machine (tracked files + carried .gpu) must stay under 64 MiB: this
# script prints both sizes. See docs/gpu.md, "The project's GPU machine".
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
mkdir -p .git/info .gpu
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
out=$(mktemp -d)
trap 'rm -rf "$out" "$out.log"' EXIT
# TrimMode=partial trims only the framework's own assemblies (ours, TorchSharp's and the packages' stay whole);
# reflection-based JSON stays on because the library's configs and manifests use it.
dotnet publish src/Diffusion.ML.Cli -c Release -r linux-x64 --self-contained -o "$out" \
  -p:TorchBackend=none -p:PublishTrimmed=true -p:TrimMode=partial -p:JsonSerializerIsReflectionEnabledByDefault=true \
  -p:InvariantGlobalization=true -p:SuppressTrimAnalysisWarnings=true -nologo > "$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
# Not needed for CUDA sampling and benchmarks: ONNX Runtime's CPU library, the debugger and tracing libraries, the
# alternative garbage collectors, symbols.
rm -f "$out"/libonnxruntime.so "$out"/libonnxruntime_providers_shared.so "$out"/libmscordaccore.so "$out"/libmscordbi.so \
  "$out"/libclrgc.so "$out"/libclrgcexp.so "$out"/libcoreclrtraceptprovider.so "$out"/createdump "$out"/*.pdb
tar -C "$out" -cJf .gpu/diffusion-ml.tar.xz .
bundle=$(stat -c %s .gpu/diffusion-ml.tar.xz)
tracked=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s}')
echo "bundle $(( bundle / 1048576 )) MiB + tracked files $(( tracked / 1048576 )) MiB = $(( (bundle + tracked) / 1048576 )) MiB of the 64 MiB that may travel"
