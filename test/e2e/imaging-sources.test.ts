import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDicom, uid } from '../../edge-agent/dicom/fixtures.test-util.ts';
import { tinyModel } from '../../edge-agent/pipeline/onnx-model.test-util.ts';
import { scoreFolder } from '../../edge-agent/pipeline/score-folder.ts';
import { dicomWebSource } from '../../edge-agent/sources/dicomweb.ts';
import { folderSource } from '../../edge-agent/sources/folder.ts';
import type { ImageSource } from '../../edge-agent/sources/source.ts';
import { memoryPredictionCache } from '../../edge-agent/state/predictions.ts';
import { ModelManifest } from '../../schemas/model-manifest.ts';
import { type Compression, compress } from '../../synthetic/transcode.ts';
import { type Orthanc, startOrthanc } from '../support/orthanc.ts';

/**
 * One suite, two sources: the same small archive as a folder and inside a real Orthanc (DICOMweb plugin,
 * loaded over STOW-RS). Both must give the same study scores, attributes and accounting; DICOMweb filters
 * by modality and study date on the PACS side (QIDO-RS), so what it never fetches it never counts.
 *
 * Images are flat, so the tiny model's score (the mean of the input, i.e. the rescaled value) is known
 * exactly; studies mix native, JPEG-LS, RLE, JPEG 2000 and a multi-frame instance.
 */

const manifest = ModelManifest.parse({
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
});
const model = tinyModel({ channels: 1, height: 4, width: 4, weights: [0, 1], bias: [0, 0] });

const studyA = uid();
const studyB = uid();
const studyC = uid();
const expectedScores = new Map([
  [studyA, 1300 - 1000],
  [studyB, 1700 - 1000],
]);

let dir: string;
let archive: string;
let orthanc: Orthanc;

function image(study: string, date: string, value: number | number[], extra: Record<string, unknown> = {}) {
  const frames = Array.isArray(value) ? value : [value];
  return makeDicom({
    studyInstanceUid: study,
    rows: 8,
    columns: 8,
    frames: frames.length,
    bitsStored: 12,
    rescaleIntercept: -1000,
    words: frames.flatMap((v) => new Array(64).fill(v)),
    extra: { StudyDate: date, PatientSex: 'F', PatientAge: '045Y', Manufacturer: 'ACME', ...extra },
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-sources-'));
  archive = join(dir, 'archive');
  const files: [string, Uint8Array, Compression?][] = [
    ['a/1.dcm', image(studyA, '20240105', 1200)],
    ['a/2.dcm', image(studyA, '20240105', 1300), 'jpeg-ls'],
    ['a/3.dcm', image(studyA, '20240105', 1250), 'rle'],
    ['b/multi.dcm', image(studyB, '20240610', [1100, 1700], { PatientSex: 'M', PatientAge: '080Y' })],
    ['b/j2k.dcm', image(studyB, '20240610', 1650, { PatientSex: 'M', PatientAge: '080Y' }), 'j2k'],
    ['c/mr.dcm', image(studyC, '20240301', 1000, { Modality: 'MR' })],
  ];
  for (const [rel, bytes, kind] of files) {
    const path = join(archive, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, bytes);
    if (kind) await compress(path, path, kind);
  }
  orthanc = await startOrthanc(join(dir, 'orthanc'));
  await orthanc.stow(files.map(([rel]) => new Uint8Array(readFileSync(join(archive, rel)))));
}, 120_000);

afterAll(async () => {
  await orthanc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Expectation {
  seen: number;
  excluded: Record<string, number>;
}

function sourceSuite(name: string, make: () => ImageSource, expected: Expectation) {
  describe(`${name} source`, () => {
    it('scores every study as the folder of originals would, and accounts for every item', async () => {
      const r = await scoreFolder({
        source: make(),
        manifest,
        model,
        device: 'cpu',
        batchSize: 2,
        threads: 1,
      });
      expect(r.studyScores).toEqual(expectedScores);
      expect(r.images.seen).toBe(expected.seen);
      expect(r.excluded).toEqual(expected.excluded);
      const excluded = Object.values(r.excluded).reduce((a, b) => a + (b ?? 0), 0);
      expect(r.images.used + excluded).toBe(r.images.seen);
      expect(r.studyAttributes.get(studyA)).toEqual({ sex: 'F', ageBand: '40-59', manufacturer: 'ACME' });
      expect(r.studyAttributes.get(studyB)).toEqual({ sex: 'M', ageBand: '75+', manufacturer: 'ACME' });
      expect(r.inferred).toBe(6); // five instances, one of them two frames
    });

    it('a second run with the cache infers nothing and gives the same scores', async () => {
      const cache = memoryPredictionCache();
      const first = await scoreFolder({ source: make(), manifest, model, device: 'cpu', cache, threads: 1 });
      const second = await scoreFolder({ source: make(), manifest, model, device: 'cpu', cache, threads: 1 });
      expect(first.inferred).toBe(6);
      expect(second.inferred).toBe(0);
      expect(second.cached).toBe(5);
      expect(second.studyScores).toEqual(first.studyScores);
      expect(second.images).toEqual(first.images);
    });
  });
}

sourceSuite('folder', () => folderSource(archive), { seen: 6, excluded: { 'modality-mismatch': 1 } });
sourceSuite(
  'DICOMweb (Orthanc)',
  () => dicomWebSource({ url: orthanc.dicomweb, modalities: ['CT'], pageSize: 1 }),
  {
    seen: 5,
    excluded: {},
  },
);

describe('DICOMweb specifics', () => {
  it('finds studies by date range (QIDO-RS) and fetches only those', async () => {
    const source = dicomWebSource({
      url: orthanc.dicomweb,
      modalities: ['CT'],
      studyDateFrom: '20240601',
      studyDateTo: '20241231',
    });
    const r = await scoreFolder({ source, manifest, model, device: 'cpu', threads: 1 });
    expect([...r.studyScores.keys()]).toEqual([studyB]);
    expect(r.images).toEqual({ seen: 2, used: 2 });
    expect(await source.estimate?.()).toBe(2);
  });

  it('keeps the stored transfer syntax (no transcoding by the PACS)', async () => {
    const source = dicomWebSource({ url: orthanc.dicomweb, modalities: ['CT'], studyDateTo: '20240131' });
    const syntaxes: string[] = [];
    for await (const item of source.items()) {
      if (item.kind !== 'fetch') throw new Error('expected fetched items');
      const bytes = await item.load();
      const text = new TextDecoder('latin1').decode(bytes.subarray(0, 400));
      syntaxes.push(/1\.2\.840\.10008\.1\.2[0-9.]*/.exec(text.slice(132))?.[0] ?? '');
    }
    expect(syntaxes.sort()).toEqual(['1.2.840.10008.1.2.1', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.5']);
  });

  it('says which HTTP status a failing PACS gave, and nothing else', async () => {
    const source = dicomWebSource({ url: `${orthanc.url}/no-such-root` });
    await expect(source.items()[Symbol.asyncIterator]().next()).rejects.toThrow(
      /^DICOMweb: QIDO-RS answered HTTP 404$/,
    );
  });
});
