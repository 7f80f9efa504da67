import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExclusionCounts } from '../../schemas/exclusion-reasons.ts';
import { ModelManifest, type ModelManifestInput } from '../../schemas/model-manifest.ts';
import { deflateBomb } from '../../synthetic/bomb.ts';
import { makeDicom, TS, uid } from '../dicom/fixtures.test-util.ts';
import { JobFailure } from './job-failure.ts';
import { tinyModel } from './onnx-model.test-util.ts';
import { modelSha256, predictionCacheKey, scoreFolder } from './score-folder.ts';

const manifest = (extra: Partial<ModelManifestInput> = {}): ModelManifest =>
  ModelManifest.parse({
    schema: 'cairn.model/v1',
    vendor: 'test-vendor',
    name: 'tiny',
    version: '1.0.0',
    task: 'binary-classification',
    modality: ['CT'],
    input: { name: 'image', channels: 1, height: 4, width: 4 },
    output: { name: 'logits', activation: 'none', index: 1 },
    threshold: 0.5,
    studyAggregation: 'max',
    ...extra,
  });

// score = mean of the input tensor (weights [0, 1], bias 0, no activation): easy to predict exactly.
const model = tinyModel({ channels: 1, height: 4, width: 4, weights: [0, 1], bias: [0, 0] });
const sum = (c: ExclusionCounts) => Object.values(c).reduce((a, b) => a + (b ?? 0), 0);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-score-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function folder(name: string, files: Record<string, Uint8Array | string>): Promise<string> {
  const root = join(dir, name);
  for (const [rel, bytes] of Object.entries(files)) {
    const path = join(root, rel);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, bytes);
  }
  return root;
}

describe('scoreFolder', () => {
  it('accounts for every file: one good file of each kind, and one of each failure', async () => {
    const study = uid();
    const good = (opts: Parameters<typeof makeDicom>[0]) =>
      makeDicom({ studyInstanceUid: study, rows: 8, columns: 8, ...opts });
    const dupSop = uid();
    const full = good({ transferSyntax: TS.explicit });
    const root = await folder('mixed', {
      'good/explicit.dcm': full,
      'good/implicit.dcm': good({ transferSyntax: TS.implicit }),
      'good/big.dcm': good({ transferSyntax: TS.big }),
      'good/deflated.dcm': good({ transferSyntax: TS.deflated }),
      'good/signed12.dcm': good({
        bitsStored: 12,
        pixelRepresentation: 1,
        words: new Array(64).fill(0xf800),
      }),
      'good/mono1.dcm': good({ photometric: 'MONOCHROME1', bitsAllocated: 8 }),
      'good/rgb.dcm': good({ samplesPerPixel: 3, bitsAllocated: 8 }),
      'good/multiframe.dcm': good({ frames: 3 }),
      'good/dup-first.dcm': good({ sopInstanceUid: dupSop }),
      'good/dup-second.dcm': good({ sopInstanceUid: dupSop }),
      'bad/notes.txt': 'not an image',
      'bad/truncated.dcm': full.subarray(0, full.length - 20),
      'bad/no-pixels.dcm': good({ omit: ['PixelData'] }),
      'bad/j2k.dcm': good({ transferSyntax: TS.jpeg2000 }),
      'bad/mr.dcm': good({ modality: 'MR' }),
      'bad/no-study.dcm': good({ omit: ['StudyInstanceUID'] }),
      'good/ybr.dcm': good({ samplesPerPixel: 3, photometric: 'YBR_FULL', bitsAllocated: 8 }),
      'bad/palette.dcm': good({ photometric: 'PALETTE COLOR', bitsAllocated: 8 }),
      'bad/mpeg4.dcm': good({ transferSyntax: '1.2.840.10008.1.2.4.102' }),
    });
    const progress: number[] = [];
    const result = await scoreFolder({
      dicomDir: root,
      manifest: manifest(),
      model,
      device: 'cpu',
      batchSize: 3,
      threads: 1,
      onProgress: (p) => progress.push(p.filesSeen),
    });
    expect(result.provider).toBe('cpu');
    expect(result.excluded).toEqual({
      'not-dicom': 1,
      truncated: 1,
      'no-pixel-data': 1,
      'unsupported-transfer-syntax': 1,
      'modality-mismatch': 1,
      'missing-uid': 1,
      'unsupported-pixel-format': 1,
      'duplicate-instance': 1,
      'decode-error': 1, // a JPEG 2000 header over native pixel data
    });
    expect(result.images).toEqual({ seen: 19, used: 10 });
    expect(result.images.used + sum(result.excluded)).toBe(result.images.seen);
    expect([...result.studyScores.keys()]).toEqual([study]);
    expect(progress.at(-1)).toBe(19);
  });

  it('settles a deflated duplicate from its header, never inflating it, and refuses a bomb with its own UID', async () => {
    const study = uid();
    const sop = uid();
    const bomb = (sopInstanceUid: string) =>
      deflateBomb({
        sopInstanceUid,
        studyInstanceUid: study,
        rows: 4,
        columns: 4,
        inflatedBytes: 64 * 1024 * 1024,
      });
    const root = await folder('bombs', {
      'a-good.dcm': makeDicom({ studyInstanceUid: study, sopInstanceUid: sop, transferSyntax: TS.deflated }),
      'b-same-uid-bomb.dcm': await bomb(sop),
      'c-own-uid-bomb.dcm': await bomb(uid()),
    });
    const r = await scoreFolder({ dicomDir: root, manifest: manifest(), model, threads: 1, workers: 1 });
    expect(r.images).toEqual({ seen: 3, used: 1 });
    expect(r.excluded).toEqual({ 'duplicate-instance': 1, 'decompression-bomb': 1 });
  });

  it('aggregates per study by max or mean, with exact scores', async () => {
    const [s1, s2] = [uid(), uid()];
    const flat = (study: string, value: number) =>
      makeDicom({
        studyInstanceUid: study,
        rows: 4,
        columns: 4,
        rescaleIntercept: -1000,
        words: new Array(16).fill(value),
      });
    const root = await folder('agg', {
      'a.dcm': flat(s1, 1000), // 0
      'b.dcm': flat(s1, 1010), // 10
      'c.dcm': flat(s1, 1030), // 30
      'd.dcm': flat(s2, 990), // -10
    });
    const run = (studyAggregation: 'max' | 'mean', batchSize: number) =>
      scoreFolder({
        dicomDir: root,
        manifest: manifest({ studyAggregation }),
        model,
        device: 'cpu',
        batchSize,
        threads: 1,
      });
    const max = await run('max', 2);
    expect(Object.fromEntries(max.studyScores)).toEqual({ [s1]: 30, [s2]: -10 });
    const mean = await run('mean', 16);
    expect(mean.studyScores.get(s1)).toBeCloseTo(40 / 3, 5);
    expect(mean.studyScores.get(s2)).toBeCloseTo(-10, 5);
    expect(mean.images).toEqual({ seen: 4, used: 4 });
  });

  it('selects by body part when the manifest names one', async () => {
    const root = await folder('bodypart', {
      'chest.dcm': makeDicom({ bodyPart: 'CHEST' }),
      'head.dcm': makeDicom({ bodyPart: 'HEAD' }),
      'none.dcm': makeDicom({}),
    });
    const r = await scoreFolder({
      dicomDir: root,
      manifest: manifest({ bodyPart: ['CHEST'] }),
      model,
      device: 'cpu',
      threads: 1,
    });
    expect(r.images).toEqual({ seen: 3, used: 1 });
    expect(r.excluded).toEqual({ 'body-part-mismatch': 2 });
  });

  it('fails the job as model-load-failed, before any image, when the output index is not in the model', async () => {
    const root = await folder('inference-error', { 'a.dcm': makeDicom(), 'c.txt': 'x' });
    const wrongOutput = manifest({ output: { name: 'logits', activation: 'none', index: 5 } });
    const failed = await scoreFolder({
      dicomDir: root,
      manifest: wrongOutput,
      model,
      device: 'cpu',
      batchSize: 1,
      threads: 1,
    }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(JobFailure);
    expect(failed).toMatchObject({ code: 'model-load-failed' });
  });
});

describe('scoreFolder with a source that names its instances (DICOMweb)', () => {
  it('settles duplicates and cached instances before downloading them', async () => {
    const { memoryPredictionCache } = await import('../state/predictions.ts');
    const studies = [uid(), uid()];
    const instances = studies.flatMap((study) =>
      [0, 1, 2].map((k) => {
        const sop = uid();
        return {
          sop,
          bytes: makeDicom({
            studyInstanceUid: study,
            sopInstanceUid: sop,
            rows: 8,
            columns: 8,
            words: Array.from({ length: 64 }, (_, i) => (i * (k + 1)) % 4096),
          }),
        };
      }),
    );
    let downloads = 0;
    const source = (withDuplicate: boolean) => ({
      async *items() {
        const list = withDuplicate ? [...instances, instances[1]!] : instances;
        for (const inst of list) {
          yield {
            kind: 'fetch' as const,
            sopInstanceUid: inst.sop,
            load: async () => {
              downloads++;
              return inst.bytes.slice();
            },
          };
        }
      },
    });
    const cache = memoryPredictionCache();
    const m = manifest();
    const first = await scoreFolder({
      source: source(true),
      manifest: m,
      model,
      device: 'cpu',
      cache,
      threads: 1,
    });
    expect(first.images).toEqual({ seen: 7, used: 6 });
    expect(first.excluded).toEqual({ 'duplicate-instance': 1 });
    expect(downloads).toBe(6); // the duplicate was never fetched
    downloads = 0;
    const second = await scoreFolder({
      source: source(false),
      manifest: m,
      model,
      device: 'cpu',
      cache,
      threads: 1,
    });
    expect(second.inferred).toBe(0);
    expect(second.cached).toBe(6);
    expect(second.studyScores).toEqual(first.studyScores);
    // One download per study (its attributes come from a header); the other cached instances are not fetched.
    expect(downloads).toBeLessThanOrEqual(2 + 2); // at most a few racing the first header of each study
    expect(second.downloadsSkipped).toBe(6 - downloads);
    expect(second.downloadsSkipped).toBeGreaterThan(0);
  });
});

describe('predictionCacheKey', () => {
  it('changes with the preprocessing or output of the same ONNX bytes, not with threshold or aggregation', () => {
    const base = predictionCacheKey(model, manifest());
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    // Same bytes, another window or output index: the cached scores of one must never serve the other.
    expect(
      predictionCacheKey(
        model,
        manifest({ input: { ...manifest().input, window: { center: 40, width: 400 } } }),
      ),
    ).not.toBe(base);
    expect(
      predictionCacheKey(model, manifest({ output: { name: 'logits', activation: 'none', index: 0 } })),
    ).not.toBe(base);
    expect(
      predictionCacheKey(model, manifest({ output: { name: 'logits', activation: 'sigmoid', index: 1 } })),
    ).not.toBe(base);
    expect(predictionCacheKey(model, manifest())).not.toBe(modelSha256(model));
    // Applied after the cache: the same scores serve both.
    expect(
      predictionCacheKey(model, manifest({ threshold: 0.9, studyAggregation: 'mean', version: '2.0.0' })),
    ).toBe(base);
  });
});
