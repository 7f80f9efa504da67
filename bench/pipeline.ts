/**
 * `npm run bench`: end-to-end images per second of the agent's pipeline (DICOM files → worker threads: read,
 * parse, decode, preprocess → batched ONNX Runtime inference → study scores) for a ResNet-18 at 224×224
 * on generated 512×512 CT slices, uncompressed and JPEG-LS; per stage; and, in the same run, a Python peer
 * doing the same work on the same files (pydicom + numpy + PyTorch CPU, /usr/bin/python3 — bench/peer.py)
 * with the same weights. The last line is one JSON object: {"images","cairn_img_s","peer_img_s","ratio"}
 * (uncompressed set; the JPEG-LS numbers are in the lines before it).
 *
 * Flags: --images N (default 64), --device auto|cpu|webgpu|cuda (default auto), --batch N (default: the
 * provider's; the peer uses the same), --threads N (ORT intra-op), --workers N (decode workers), --spin (let
 * ORT's threads spin), --repeat N (best of N runs per side, default 3: the dev box is shared and noisy),
 * --model resnet18|densenet121, --sets uncompressed,jpeg-ls (JPEG-LS needs dcmtk's dcmcjpls), --no-peer,
 * --peer-cuda (the peer runs PyTorch on CUDA; its Python is `python3` on PATH, or --python).
 * Before the last line, a `ceiling` line: ONNX Runtime alone on ready tensors and the peer's network alone,
 * the bound on any end-to-end ratio. Not a test: numbers depend on the host.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import onnxProto from 'onnx-proto';
import { initCodecs } from '../edge-agent/dicom/codecs.ts';
import { decodeFrame } from '../edge-agent/dicom/decode.ts';
import { makeDicom, uid } from '../edge-agent/dicom/fixtures.test-util.ts';
import { parseDicom } from '../edge-agent/dicom/parse.ts';
import { createInferenceSession, type Device, runBatch } from '../edge-agent/pipeline/infer.ts';
import { preprocess } from '../edge-agent/pipeline/preprocess.ts';
import { scoreFolder } from '../edge-agent/pipeline/score-folder.ts';
import { frameToTensor } from '../edge-agent/pipeline/tensor.ts';
import { ModelManifest } from '../schemas/model-manifest.ts';
import { buildDenseNet121Onnx, densenetManifest } from '../synthetic/densenet.ts';
import { buildResNet18Onnx, resnetManifest } from '../synthetic/resnet.ts';
import { compress } from '../synthetic/transcode.ts';

const { values: flags } = parseArgs({
  options: {
    images: { type: 'string', default: '64' },
    device: { type: 'string', default: 'auto' },
    batch: { type: 'string' },
    threads: { type: 'string' },
    workers: { type: 'string' },
    spin: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '3' },
    model: { type: 'string', default: 'resnet18' },
    sets: { type: 'string', default: 'uncompressed,jpeg-ls' },
    'no-peer': { type: 'boolean', default: false },
    'peer-cuda': { type: 'boolean', default: false },
    python: { type: 'string' },
  },
});
const REPEAT = Math.max(1, Number(flags.repeat));
const SETS = flags.sets
  .split(',')
  .filter((x): x is 'uncompressed' | 'jpeg-ls' => x === 'uncompressed' || x === 'jpeg-ls');
if (!SETS.includes('uncompressed')) throw new Error('bench: --sets must include uncompressed');
if (flags.model !== 'resnet18' && flags.model !== 'densenet121')
  throw new Error('bench: --model resnet18|densenet121');
const N = Number(flags.images);
const threads = flags.threads ? Number(flags.threads) : availableParallelism();
// The folder of this file's sources (peer.py): beside it, or beside the bundle (bench/prepare-device.sh).
const benchDir = process.env.CAIRN_BENCH_DIR ?? import.meta.dirname;
const line = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
try {
  // 512×512 CT-like slices: a body ellipse with structure and noise, signed 16-bit, rescale -1024.
  const raw = join(dir, 'uncompressed');
  const jls = join(dir, 'jpeg-ls');
  mkdirSync(raw);
  mkdirSync(jls);
  let seed = 7;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff - 0.5;
  };
  for (let i = 0; i < N; i++) {
    const words = new Array<number>(512 * 512);
    for (let y = 0; y < 512; y++) {
      for (let x = 0; x < 512; x++) {
        const r = ((x - 256) / 220) ** 2 + ((y - 256) / 180) ** 2;
        const hu = r > 1 ? -1000 : 40 + 200 * Math.sin((x + i * 7) / 23) * Math.cos(y / 31) + 30 * noise();
        words[y * 512 + x] = (Math.round(hu) + 1024) & 0xffff;
      }
    }
    const name = `ct-${String(i).padStart(4, '0')}.dcm`;
    writeFileSync(
      join(raw, name),
      makeDicom({
        studyInstanceUid: uid(),
        rows: 512,
        columns: 512,
        bitsStored: 12,
        rescaleIntercept: -1024,
        words,
      }),
    );
    if (SETS.includes('jpeg-ls')) await compress(join(raw, name), join(jls, name), 'jpeg-ls');
  }
  const manifestPath = join(dir, 'manifest.json');
  const model = flags.model === 'densenet121' ? buildDenseNet121Onnx() : buildResNet18Onnx();
  const weights = writeWeights(model, join(dir, 'weights'));
  const manifest = ModelManifest.parse(
    flags.model === 'densenet121' ? densenetManifest(224) : resnetManifest(224),
  );
  writeFileSync(manifestPath, JSON.stringify(manifest));
  line({
    host: `${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}`,
    images: N,
    model: `${flags.model}-224`,
  });

  // Per stage, single thread, in this process (what one worker does per image).
  await initCodecs();
  const folders = { uncompressed: raw, 'jpeg-ls': jls } as const;
  for (const set of SETS) {
    const folder = folders[set];
    const t = { read: 0, parse: 0, decode: 0, preprocess: 0, fused_decode_preprocess: 0 };
    for (const f of readdirSync(folder)) {
      let t0 = performance.now();
      const bytes = new Uint8Array(readFileSync(join(folder, f)));
      t.read += performance.now() - t0;
      t0 = performance.now();
      const p = parseDicom(bytes);
      t.parse += performance.now() - t0;
      if (!p.ok) throw new Error(`bench: ${p.reason}`);
      t0 = performance.now();
      const d = decodeFrame(p.image, 0);
      t.decode += performance.now() - t0;
      if (!d.ok) throw new Error(`bench: ${d.reason}`);
      t0 = performance.now();
      preprocess(d, manifest.input);
      t.preprocess += performance.now() - t0;
      // What a worker actually runs: decode + preprocess fused (the two lines above are the reference path).
      t0 = performance.now();
      frameToTensor(p.image, 0, manifest.input);
      t.fused_decode_preprocess += performance.now() - t0;
    }
    line({
      stage_ms_per_image: set,
      ...Object.fromEntries(Object.entries(t).map(([k, v]) => [k, +(v / N).toFixed(2)])),
    });
  }

  const cairn: Record<string, { img_s: number; scores: Map<string, number> }> = {};
  let provider = 'cpu';
  let batchSize = 0;
  for (const set of SETS) {
    let best: Awaited<ReturnType<typeof scoreFolder>> | undefined;
    for (let rep = 0; rep < REPEAT; rep++) {
      const r = await scoreFolder({
        dicomDir: folders[set],
        manifest,
        model,
        device: flags.device as Device,
        threads,
        ...(flags.workers ? { workers: Number(flags.workers) } : {}),
        ...(flags.spin ? { spinning: true } : {}),
        ...(flags.batch ? { batchSize: Number(flags.batch) } : {}),
      });
      if (r.images.used !== N) throw new Error(`bench: only ${r.images.used} of ${N} images used`);
      if (!best || r.stages.wall < best.stages.wall) best = r;
    }
    const r = best!;
    provider = r.provider;
    batchSize = r.batchSize;
    const imgS = N / r.stages.wall;
    cairn[set] = { img_s: imgS, scores: r.studyScores };
    line({
      cairn: set,
      provider: r.provider,
      batch: r.batchSize,
      best_of: REPEAT,
      img_s: +imgS.toFixed(2),
      wall_s: +r.stages.wall.toFixed(2),
      worker_startup_s: +r.stages.startup.toFixed(2),
      inference_s: +r.stages.inference.toFixed(2),
      inference_only_img_s: +(N / r.stages.inference).toFixed(2),
      waiting_for_workers_s: +r.stages.starved.toFixed(2),
    });
  }

  // The ceiling: ONNX Runtime alone, same session options and batch, on tensors that are ready.
  const ortOnly = await ortAlone(model, manifest, raw, batchSize, provider as Device);

  let peer: Record<
    string,
    {
      img_s: number | null;
      error?: string;
      seconds: number;
      stages: object;
      inference_only_img_s?: number | null;
      device?: string;
      decoder?: string;
      scores: Record<string, number>;
    }
  > = {};
  if (!flags['no-peer']) {
    const config = {
      model: flags.model,
      weights,
      manifest: manifestPath,
      batch: batchSize,
      threads,
      device: flags['peer-cuda'] ? 'cuda' : 'cpu',
      repeat: REPEAT,
      dirs: SETS.map((s) => folders[s]),
    };
    const configPath = join(dir, 'peer.json');
    writeFileSync(configPath, JSON.stringify(config));
    const python = flags.python ?? (flags['peer-cuda'] ? 'python3' : '/usr/bin/python3');
    const p = spawnSync(python, [join(benchDir, 'peer.py'), configPath], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (p.status !== 0)
      throw new Error(`bench: the Python peer failed: ${(p.stderr ?? String(p.error)).slice(-2000)}`);
    peer = JSON.parse(p.stdout);
    for (const [set, r] of Object.entries(peer)) {
      let maxDiff = 0;
      for (const [study, s] of Object.entries(r.scores)) {
        maxDiff = Math.max(maxDiff, Math.abs(s - (cairn[set]?.scores.get(study) ?? Number.NaN)));
      }
      line({
        peer: set,
        device: r.device,
        decoder: r.decoder,
        img_s: r.img_s === null ? null : +r.img_s.toFixed(2),
        seconds: +r.seconds.toFixed(2),
        stages_s: r.stages,
        max_score_diff_vs_cairn: Object.keys(r.scores).length ? maxDiff : null,
        ...(r.error ? { error: r.error } : {}),
      });
    }
  }
  const peerNet = peer.uncompressed?.inference_only_img_s ?? null;
  line({
    ceiling: 'inference alone, same batch',
    cairn_ort_img_s: +ortOnly.toFixed(2),
    peer_net_img_s: peerNet === null ? null : +peerNet.toFixed(2),
    max_ratio: peerNet ? +(ortOnly / peerNet).toFixed(2) : null,
  });
  const c = cairn.uncompressed!.img_s;
  const pe = peer.uncompressed?.img_s ?? null;
  line({
    images: N,
    cairn_img_s: +c.toFixed(2),
    peer_img_s: pe === null ? null : +pe.toFixed(2),
    ratio: pe ? +(c / pe).toFixed(2) : null,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** Initializers as one raw float32 file + a JSON index (name → offset, dims): the peer needs no onnx package. */
function writeWeights(bytes: Uint8Array, base: string): { bin: string; index: string } {
  const m = onnxProto.onnx.ModelProto.decode(bytes);
  const index: Record<string, { offset: number; dims: number[] }> = {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const t of m.graph?.initializer ?? []) {
    const raw = t.rawData as Uint8Array;
    index[t.name ?? ''] = { offset, dims: (t.dims ?? []).map(Number) };
    parts.push(raw);
    offset += raw.byteLength;
  }
  writeFileSync(`${base}.bin`, Buffer.concat(parts));
  writeFileSync(`${base}.json`, JSON.stringify(index));
  return { bin: `${base}.bin`, index: `${base}.json` };
}

/** Images per second of the session alone (best of REPEAT passes over N images), on real preprocessed input. */
async function ortAlone(
  bytes: Uint8Array,
  m: ModelManifest,
  folder: string,
  batch: number,
  device: Device,
): Promise<number> {
  const { session } = await createInferenceSession(bytes, {
    device,
    threads,
    ...(flags.spin ? { spinning: true } : {}),
  });
  const per = m.input.channels * m.input.height * m.input.width;
  const f = readdirSync(folder)[0]!;
  const parsed = parseDicom(new Uint8Array(readFileSync(join(folder, f))));
  if (!parsed.ok) throw new Error('bench: unreadable');
  const t = frameToTensor(parsed.image, 0, m.input);
  if (!t.ok) throw new Error('bench: undecodable');
  const inputs = Array.from({ length: batch }, () => t.tensor.slice(0, per));
  await runBatch(session, m, inputs); // warm-up
  let best = 0;
  for (let rep = 0; rep < REPEAT; rep++) {
    const t0 = performance.now();
    for (let done = 0; done < N; done += batch)
      await runBatch(session, m, inputs.slice(0, Math.min(batch, N - done)));
    best = Math.max(best, N / ((performance.now() - t0) / 1000));
  }
  await session.release();
  return best;
}
