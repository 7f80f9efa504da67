/**
 * `npm run bench`: end-to-end images per second of the agent's pipeline (DICOM files → worker threads: read,
 * parse, decode, preprocess → batched ONNX Runtime inference → study scores) for a ResNet-18 at 224×224
 * on generated 512×512 CT slices, uncompressed and JPEG-LS; per stage; and, in the same run, a Python peer
 * doing the same work on the same files (pydicom + numpy + PyTorch CPU, /usr/bin/python3 — bench/peer.py)
 * with the same weights. The last line is one JSON object: {"images","cairn_img_s","peer_img_s","ratio"}
 * (uncompressed set; the JPEG-LS numbers are in the lines before it).
 *
 * Flags: --images N (default 64), --device auto|cpu|webgpu|cuda (default auto), --batch N (default: the
 * provider's), --threads N, --no-peer (e.g. on a host without PyTorch). Not a test: numbers depend on the host.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initCodecs } from '../edge-agent/dicom/codecs.ts';
import { decodeFrame } from '../edge-agent/dicom/decode.ts';
import { makeDicom, uid } from '../edge-agent/dicom/fixtures.test-util.ts';
import { parseDicom } from '../edge-agent/dicom/parse.ts';
import type { Device } from '../edge-agent/pipeline/infer.ts';
import { preprocess } from '../edge-agent/pipeline/preprocess.ts';
import { scoreFolder } from '../edge-agent/pipeline/score-folder.ts';
import { ModelManifest } from '../schemas/model-manifest.ts';
import { buildResNet18Onnx, resnetManifest } from '../synthetic/resnet.ts';
import { compress } from '../synthetic/transcode.ts';

const { values: flags } = parseArgs({
  options: {
    images: { type: 'string', default: '64' },
    device: { type: 'string', default: 'auto' },
    batch: { type: 'string' },
    threads: { type: 'string' },
    'no-peer': { type: 'boolean', default: false },
  },
});
const N = Number(flags.images);
const threads = flags.threads ? Number(flags.threads) : availableParallelism();
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
    await compress(join(raw, name), join(jls, name), 'jpeg-ls');
  }
  const modelPath = join(dir, 'resnet18.onnx');
  const manifestPath = join(dir, 'manifest.json');
  const model = buildResNet18Onnx();
  writeFileSync(modelPath, model);
  const manifest = ModelManifest.parse(resnetManifest(224));
  writeFileSync(manifestPath, JSON.stringify(manifest));
  line({
    host: `${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}`,
    images: N,
    model: 'resnet18-224',
  });

  // Per stage, single thread, in this process (what one worker does per image).
  await initCodecs();
  for (const [set, folder] of [
    ['uncompressed', raw],
    ['jpeg-ls', jls],
  ] as const) {
    const t = { read: 0, parse: 0, decode: 0, preprocess: 0 };
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
    }
    line({
      stage_ms_per_image: set,
      ...Object.fromEntries(Object.entries(t).map(([k, v]) => [k, +(v / N).toFixed(2)])),
    });
  }

  const cairn: Record<string, { img_s: number; scores: Map<string, number> }> = {};
  for (const [set, folder] of [
    ['uncompressed', raw],
    ['jpeg-ls', jls],
  ] as const) {
    const r = await scoreFolder({
      dicomDir: folder,
      manifest,
      model,
      device: flags.device as Device,
      threads,
      ...(flags.batch ? { batchSize: Number(flags.batch) } : {}),
    });
    if (r.images.used !== N) throw new Error(`bench: only ${r.images.used} of ${N} images used`);
    const imgS = N / r.stages.wall;
    cairn[set] = { img_s: imgS, scores: r.studyScores };
    line({
      cairn: set,
      provider: r.provider,
      batch: r.batchSize,
      img_s: +imgS.toFixed(2),
      wall_s: +r.stages.wall.toFixed(2),
      worker_startup_s: +r.stages.startup.toFixed(2),
      inference_s: +r.stages.inference.toFixed(2),
      inference_only_img_s: +(N / r.stages.inference).toFixed(2),
      waiting_for_workers_s: +r.stages.starved.toFixed(2),
    });
  }

  let peer: Record<
    string,
    { img_s: number | null; error?: string; seconds: number; stages: object; scores: Record<string, number> }
  > = {};
  if (!flags['no-peer']) {
    const batch = flags.batch ?? '8';
    const p = spawnSync(
      '/usr/bin/python3',
      [join(import.meta.dirname, 'peer.py'), modelPath, manifestPath, batch, String(threads), raw, jls],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (p.status !== 0) throw new Error(`bench: the Python peer failed: ${p.stderr.slice(-2000)}`);
    peer = JSON.parse(p.stdout);
    for (const [set, r] of Object.entries(peer)) {
      let maxDiff = 0;
      for (const [study, s] of Object.entries(r.scores)) {
        maxDiff = Math.max(maxDiff, Math.abs(s - (cairn[set]?.scores.get(study) ?? Number.NaN)));
      }
      line({
        peer: set,
        img_s: r.img_s === null ? null : +r.img_s.toFixed(2),
        seconds: +r.seconds.toFixed(2),
        stages_s: r.stages,
        max_score_diff_vs_cairn: Object.keys(r.scores).length ? maxDiff : null,
        ...(r.error ? { error: r.error } : {}),
      });
    }
  }
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
