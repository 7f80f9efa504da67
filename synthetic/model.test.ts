import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManifest } from '../schemas/model-manifest.ts';
import { type SyntheticSite, writeSyntheticSite } from './dicom.ts';
import { buildNoduleDetectorOnnx, demoManifest } from './model.ts';

const { onnx } = onnxProto;
const S = 64;

const sessionOptions: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  intraOpNumThreads: 1,
};

/**
 * The manifest contract, written independently of the agent: rescale, linear VOI LUT to [0,1], normalise,
 * bilinear resize with half-pixel centres.
 */
function preprocess(bytes: Uint8Array, m: ReturnType<typeof ModelManifest.parse>): Float32Array {
  const ds = dicomParser.parseDicom(bytes);
  const rows = ds.uint16('x00280010')!;
  const cols = ds.uint16('x00280011')!;
  const el = ds.elements['x7fe00010']!;
  const view = new DataView(bytes.buffer, bytes.byteOffset + el.dataOffset, el.length);
  const signed = ds.uint16('x00280103') === 1;
  const slope = Number(ds.string('x00281053') ?? '1');
  const intercept = Number(ds.string('x00281052') ?? '0');
  const { center: c, width: w } = m.input.window!;
  const { mean, std } = m.input.normalize;
  const src = new Float32Array(rows * cols);
  for (let i = 0; i < src.length; i++) {
    const x = (signed ? view.getInt16(2 * i, true) : view.getUint16(2 * i, true)) * slope + intercept;
    const v =
      x <= c - 0.5 - (w - 1) / 2 ? 0 : x > c - 0.5 + (w - 1) / 2 ? 1 : (x - (c - 0.5)) / (w - 1) + 0.5;
    src[i] = (v - mean) / std;
  }
  const H = m.input.height;
  const W = m.input.width;
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max((y + 0.5) * (rows / H) - 0.5, 0), rows - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, rows - 1);
    const wy = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max((x + 0.5) * (cols / W) - 0.5, 0), cols - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, cols - 1);
      const wx = fx - x0;
      const top = (1 - wx) * src[y0 * cols + x0]! + wx * src[y0 * cols + x1]!;
      const bottom = (1 - wx) * src[y1 * cols + x0]! + wx * src[y1 * cols + x1]!;
      out[y * W + x] = (1 - wy) * top + wy * bottom;
    }
  }
  return out;
}

/** Mann–Whitney AUC with ties counted as one half. */
function auc(scores: number[], labels: number[]): number {
  const pos = scores.filter((_, i) => labels[i] === 1);
  const neg = scores.filter((_, i) => labels[i] === 0);
  let sum = 0;
  for (const p of pos) for (const n of neg) sum += p > n ? 1 : p === n ? 0.5 : 0;
  return sum / (pos.length * neg.length);
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('buildNoduleDetectorOnnx', () => {
  it('builds a deterministic opset-17 / IR 8 model with a dynamic batch', () => {
    for (const v of [1, 2] as const) {
      const bytes = buildNoduleDetectorOnnx(v);
      expect(buildNoduleDetectorOnnx(v)).toEqual(bytes);
      const m = onnx.ModelProto.decode(bytes);
      expect(Number(m.irVersion)).toBe(8);
      expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
      const dims = m.graph!.input![0]!.type!.tensorType!.shape!.dim!;
      expect(dims[0]!.dimParam).toBe('N');
      expect(dims.slice(1).map((d) => Number(d.dimValue))).toEqual([1, S, S]);
    }
    expect(buildNoduleDetectorOnnx(2)).not.toEqual(buildNoduleDetectorOnnx(1));
  });

  it('loads in onnxruntime-node and runs batches of any size, at any input size', async () => {
    for (const v of [1, 2] as const) {
      for (const size of [S, 96]) {
        const session = await ort.InferenceSession.create(
          buildNoduleDetectorOnnx(v, { inputSize: size }),
          sessionOptions,
        );
        expect(session.inputNames).toEqual(['image']);
        expect(session.outputNames).toEqual(['logit']);
        for (const n of [1, 3]) {
          const data = new Float32Array(n * size * size).fill(-1);
          const out = await session.run({ image: new ort.Tensor('float32', data, [n, 1, size, size]) });
          expect(out.logit!.dims).toEqual([n, 1]);
        }
        await session.release();
      }
    }
  });

  it('produces manifests that satisfy the schema', () => {
    for (const v of [1, 2] as const) {
      const m = ModelManifest.parse(demoManifest(v));
      expect(m.version).toBe(v === 1 ? '1.0.0' : '2.0.0');
      expect(m.input.height).toBe(S);
      expect(m.output).toEqual({ name: 'logit', activation: 'sigmoid', index: 0 });
      expect(m.studyAggregation).toBe('max');
    }
  });
});

describe('detection quality on generated studies', () => {
  let dir: string;
  const sites: SyntheticSite[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cairn-model-'));
    const base = {
      prevalence: 0.35,
      manufacturer: 'GE MEDICAL SYSTEMS',
      scannerModel: 'Revolution CT',
      institution: 'Quality Test Hospital',
      nodule: { minHu: 20, maxHu: 55 },
    };
    sites.push(
      await writeSyntheticSite(
        { ...base, siteId: 'q1', seed: 501, studies: 60, noiseHu: 14 },
        path.join(dir, 'q1'),
      ),
      await writeSyntheticSite(
        { ...base, siteId: 'q2', seed: 502, studies: 60, noiseHu: 26, signedPixels: true },
        path.join(dir, 'q2'),
      ),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('v2 separates nodule from no-nodule images better than v1', async () => {
    const images: { data: Float32Array; nodule: 0 | 1; study: string; label: 0 | 1 }[] = [];
    const manifest = ModelManifest.parse(demoManifest(1));
    for (const site of sites) {
      for (const study of site.studies) {
        for (const [i, file] of study.files.entries()) {
          images.push({
            data: preprocess(new Uint8Array(await readFile(file)), manifest),
            nodule: study.noduleSlices.includes(i) ? 1 : 0,
            study: study.studyInstanceUid,
            label: study.label,
          });
        }
      }
    }
    expect(images.length).toBeGreaterThan(250);
    const batch = new Float32Array(images.length * S * S);
    for (const [i, im] of images.entries()) batch.set(im.data, i * S * S);

    const result: Record<string, { image: number; study: number; sens: number; spec: number }> = {};
    for (const v of [1, 2] as const) {
      // The manifests must agree on preprocessing, or the comparison would not be like for like.
      expect(demoManifest(v).input).toEqual(demoManifest(1).input);
      const session = await ort.InferenceSession.create(buildNoduleDetectorOnnx(v), sessionOptions);
      const out = await session.run({ image: new ort.Tensor('float32', batch, [images.length, 1, S, S]) });
      await session.release();
      const scores = Array.from(out.logit!.data as Float32Array, sigmoid);
      const byStudy = new Map<string, { score: number; label: 0 | 1 }>();
      images.forEach((im, i) => {
        const prev = byStudy.get(im.study);
        byStudy.set(im.study, { score: Math.max(prev?.score ?? 0, scores[i]!), label: im.label });
      });
      const studies = [...byStudy.values()];
      const threshold = demoManifest(v).threshold;
      const positives = studies.filter((s) => s.label === 1);
      const negatives = studies.filter((s) => s.label === 0);
      result[`v${v}`] = {
        image: auc(
          scores,
          images.map((im) => im.nodule),
        ),
        study: auc(
          studies.map((s) => s.score),
          studies.map((s) => s.label),
        ),
        sens: positives.filter((s) => s.score >= threshold).length / positives.length,
        spec: negatives.filter((s) => s.score < threshold).length / negatives.length,
      };
    }
    console.log(`nodule detector on ${images.length} images:`, JSON.stringify(result));
    const v1 = result['v1']!;
    const v2 = result['v2']!;
    expect(v1.image).toBeGreaterThan(0.6);
    expect(v2.image).toBeGreaterThan(v1.image + 0.05);
    expect(v2.study).toBeGreaterThan(v1.study);
    expect(v2.image).toBeLessThan(0.99);
    // The locked threshold is an operating point, not a corner of the ROC curve.
    for (const r of [v1, v2]) {
      expect(r.sens).toBeGreaterThan(0.4);
      expect(r.spec).toBeGreaterThan(0.4);
    }
  });
});
