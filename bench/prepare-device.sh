#!/usr/bin/env bash
# Run here, from the project root, before `bench/run-on-device.sh` goes to the GPU host with the device tool.
# 1. ../shared/gpu/prepare.sh: .device/ with node (xz), the Vulkan/glvnd .debs, onnxruntime-node (linux-x64).
# 2. An esbuild bundle of the benchmark (bench/pipeline.ts → .device/bench/pipeline.mjs) and of the pipeline's
#    worker (edge-agent/pipeline/worker.ts → .device/bench/worker-entry.mjs, the name score-folder.ts loads
#    beside itself), with onnxruntime-node left external (setup.sh unpacks it into .device/node_modules, which
#    Node finds from .device/bench/), plus bench/peer.py beside them.
# Everything stays under .device/ (git-excluded); the total must stay under 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${CAIRN_SHARED:-../shared}
"$shared/gpu/prepare.sh"
mkdir -p .device/bench
node --input-type=module - <<'JS'
import { build } from 'esbuild';
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // @libsql/client (native) is only imported by runs that outgrow the dedupe window (pipeline/dedupe.ts).
  external: ['onnxruntime-node', '@libsql/client'],
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  // dcmjs-imaging reads its codecs' .wasm from __dirname: the bundle's folder, where it is copied below.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; import { dirname as __dn } from 'node:path'; import { fileURLToPath as __fu } from 'node:url'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);",
  },
  logLevel: 'warning',
};
await build({ ...common, entryPoints: ['bench/pipeline.ts'], outfile: '.device/bench/pipeline.mjs' });
await build({ ...common, entryPoints: ['edge-agent/pipeline/worker.ts'], outfile: '.device/bench/worker-entry.mjs' });
JS
cp bench/peer.py .device/bench/peer.py
cp node_modules/dcmjs-imaging/build/dcmjs-native-codecs.wasm .device/bench/
du -sh .device .device/bench
size=$(du -sm .device | cut -f1)
if [ "$size" -ge 64 ]; then echo "prepare-device: .device is ${size} MiB (limit 64)" >&2; exit 1; fi
echo "ready: call the device tool with: bash bench/run-on-device.sh"
