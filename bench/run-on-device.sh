#!/usr/bin/env bash
# On the GPU host, from the project root (after bench/prepare-device.sh ran here): one shot, JSON lines out.
#   device tool: command "bash bench/run-on-device.sh", timeout_s 540
# Writes every line to $OUT/bench-gpu.jsonl too (when $OUT is set). Extra arguments go to the benchmark.
set -uo pipefail
cd "$(dirname "$0")/.."
source .device/setup.sh >&2
export CAIRN_BENCH_DIR="$PWD/.device/bench"
out=${OUT:-/tmp}/bench-gpu.jsonl
: > "$out"
python3 -c 'import torch, torchvision; print(torch.__version__, torchvision.__version__, torch.cuda.is_available())' >&2 \
  || echo '{"warning":"torch/torchvision not importable: the peer will fail"}' | tee -a "$out"
run() {
  echo "{\"run\":\"$*\"}" | tee -a "$out"
  timeout 240 node .device/bench/pipeline.mjs "$@" 2>&1 | tee -a "$out"
}
# The goal's line: WebGPU DenseNet-121 b32 end to end from DICOM vs PyTorch CUDA on the same card.
run --device webgpu --batch 32 --model densenet121 --peer-cuda --images 256 --repeat 2 --sets uncompressed "${@}"
# Context on the same card: ResNet-18 b32.
run --device webgpu --batch 32 --model resnet18 --peer-cuda --images 256 --repeat 2 --sets uncompressed "${@}"
