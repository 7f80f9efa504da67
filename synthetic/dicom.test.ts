import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dcmjs from 'dcmjs';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_EXCLUSION_REASONS } from '../schemas/exclusion-reasons.ts';
import { writeBadInputs } from './bad-inputs.ts';
import { type SyntheticSite, type SyntheticSiteSpec, writeSyntheticSite } from './dicom.ts';
import { PRIVATE_CREATOR, SOP_CLASS, TRANSFER_SYNTAX } from './part10.ts';

const UID = /^2\.25\.(0|[1-9][0-9]*)$/;

const spec: SyntheticSiteSpec = {
  siteId: 'test-site',
  seed: 1234,
  studies: 12,
  prevalence: 0.5,
  manufacturer: 'SIEMENS',
  scannerModel: 'SOMATOM Test',
  institution: 'Test Memorial Hospital',
  noiseHu: 12,
  nodule: { minHu: 20, maxHu: 60 },
  phi: (tag, i) => (tag === 'PatientName' && i === 3 ? 'CANARY^PATIENT^X' : undefined),
};

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/** Stored value → HU using the file's own pixel representation and rescale. */
function huAt(ds: dicomParser.DataSet, bytes: Uint8Array, x: number, y: number): number {
  const cols = ds.uint16('x00280011')!;
  const el = ds.elements['x7fe00010']!;
  const view = new DataView(bytes.buffer, bytes.byteOffset + el.dataOffset, el.length);
  const off = 2 * (Math.round(y) * cols + Math.round(x));
  const raw = ds.uint16('x00280103') === 1 ? view.getInt16(off, true) : view.getUint16(off, true);
  return raw * Number(ds.string('x00281053')) + Number(ds.string('x00281052'));
}

let dir: string;
let site: SyntheticSite;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cairn-synth-'));
  site = await writeSyntheticSite(spec, path.join(dir, 'site'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeSyntheticSite', () => {
  it('writes nested DICOM folders without PHI in the paths', async () => {
    const files = await listFiles(site.dicomDir);
    expect(files.sort()).toEqual(site.studies.flatMap((s) => s.files).sort());
    expect(files.length).toBeGreaterThanOrEqual(2 * spec.studies);
    for (const f of files) {
      const rel = path.relative(site.dicomDir, f);
      expect(rel.split(path.sep)).toHaveLength(4);
      expect(rel).toMatch(/^P\d{4}\/ST\d\d\/SE\d\d\/IM\d{4}\.dcm$/);
    }
    expect(site.studies.filter((s) => s.label === 1)).toHaveLength(6);
    for (const s of site.studies) expect(s.files.length).toBeGreaterThanOrEqual(2);
    for (const s of site.studies) expect(s.files.length).toBeLessThanOrEqual(4);
  });

  it('writes labels.csv with an extra column and one study left out', async () => {
    const lines = (await readFile(site.labelsPath, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('StudyInstanceUID,label,comment');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(spec.studies - 1);
    const byUid = new Map(rows.map((r) => [r[0], r[1]]));
    const missing = site.studies.filter((s) => !byUid.has(s.studyInstanceUid));
    expect(missing).toHaveLength(1);
    expect(missing[0]!.labeled).toBe(false);
    for (const s of site.studies.filter((st) => st.labeled))
      expect(byUid.get(s.studyInstanceUid)).toBe(String(s.label));
  });

  it('produces files that dcmjs and dicom-parser both read, with the CT attributes the agent relies on', async () => {
    const studyUids = new Set<string>();
    const sopUids = new Set<string>();
    for (const study of site.studies) {
      for (const file of study.files) {
        const bytes = new Uint8Array(await readFile(file));
        expect(Buffer.from(bytes.subarray(128, 132)).toString('latin1')).toBe('DICM');
        const ds = dicomParser.parseDicom(bytes);
        expect(ds.string('x00020010')).toBe(TRANSFER_SYNTAX.explicitLittle);
        expect(ds.string('x00080016')).toBe(SOP_CLASS.ctImage);
        expect(ds.string('x00080060')).toBe('CT');
        expect(ds.string('x00180015')).toBe('CHEST');
        expect(ds.string('x00080008')).toBe('ORIGINAL\\PRIMARY\\AXIAL');
        expect(ds.string('x00280004')).toBe('MONOCHROME2');
        expect(ds.uint16('x00280010')).toBe(128);
        expect(ds.uint16('x00280100')).toBe(16);
        expect(ds.uint16('x00280101')).toBe(12);
        expect(ds.uint16('x00280103')).toBe(0);
        expect(Number(ds.string('x00281052'))).toBe(-1024);
        expect(Number(ds.string('x00281053'))).toBe(1);
        expect(ds.elements['x7fe00010']!.length).toBe(128 * 128 * 2);
        expect(ds.string('x00090010')).toBe(PRIVATE_CREATOR);
        expect(ds.string('x00091010')).toMatch(/MRN \d+ DOB \d{8}$/);
        for (const tag of ['x0020000d', 'x0020000e', 'x00080018', 'x00200052']) {
          const v = ds.string(tag)!;
          expect(v).toMatch(UID);
          expect(v.length).toBeLessThanOrEqual(64);
        }
        expect(ds.string('x0020000d')).toBe(study.studyInstanceUid);
        expect(ds.string('x00020003')).toBe(ds.string('x00080018'));
        studyUids.add(ds.string('x0020000d')!);
        sopUids.add(ds.string('x00080018')!);

        const dict = dcmjs.data.DicomMessage.readFile(
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
        );
        const nat = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
        expect(nat.Modality).toBe('CT');
        expect(nat.StudyInstanceUID).toBe(study.studyInstanceUid);
        expect(nat.Manufacturer).toBe(spec.manufacturer);
        expect(nat.ManufacturerModelName).toBe(spec.scannerModel);
        expect(nat.PixelSpacing).toHaveLength(2);
        expect(nat.ImagePositionPatient).toHaveLength(3);
        expect(typeof nat.SliceThickness).toBe('number');
        expect(typeof nat.KVP).toBe('number');
        expect(nat.PatientName?.[0]?.Alphabetic ?? nat.PatientName).toBeTruthy();
        expect((nat.PixelData[0] as ArrayBuffer).byteLength).toBe(128 * 128 * 2);
      }
    }
    expect(studyUids.size).toBe(spec.studies);
    expect(sopUids.size).toBe(site.studies.reduce((n, s) => n + s.files.length, 0));
  });

  it('puts every PHI value into the files, including overrides', async () => {
    const all = (
      await Promise.all(site.studies.flatMap((s) => s.files).map((f) => readFile(f, 'latin1')))
    ).join('\n');
    expect(site.phiValues).toContain('CANARY^PATIENT^X');
    expect(site.phiValues).toContain(spec.institution);
    for (const s of site.studies) expect(site.phiValues).toContain(s.studyInstanceUid);
    for (const v of site.phiValues) expect(all.includes(v), v).toBe(true);
    const tags = new Set(site.phi.map((p) => p.tag));
    for (const t of [
      'PatientName',
      'PatientID',
      'PatientBirthDate',
      'AccessionNumber',
      'StudyDate',
      'InstitutionAddress',
      'ReferringPhysicianName',
      'OperatorsName',
      'PrivatePatientString',
      'SOPInstanceUID',
    ]) {
      expect(tags.has(t), t).toBe(true);
    }
  });

  it('draws the anatomy and the nodule in HU', async () => {
    const positives = site.studies.filter((s) => s.label === 1);
    expect(positives.length).toBeGreaterThan(0);
    for (const s of positives) {
      const n = s.nodule!;
      expect(s.noduleSlices).toContain(n.centreSlice);
      const bytes = new Uint8Array(await readFile(s.files[n.centreSlice]!));
      const ds = dicomParser.parseDicom(bytes);
      expect(Math.abs(huAt(ds, bytes, n.x - 0.5, n.y - 0.5) - n.hu)).toBeLessThan(5 * spec.noiseHu);
      expect(Math.abs(huAt(ds, bytes, 1, 1) + 1000)).toBeLessThan(5 * spec.noiseHu);
    }
    for (const s of site.studies.filter((st) => st.label === 0)) {
      expect(s.nodule).toBeUndefined();
      expect(s.noduleSlices).toEqual([]);
    }
  });

  it('is deterministic for a seed and honours signedPixels and unlabeledStudies', async () => {
    const small = { ...spec, studies: 3, phi: undefined };
    const a = await writeSyntheticSite(small, path.join(dir, 'a'));
    const b = await writeSyntheticSite(small, path.join(dir, 'b'));
    expect(await readFile(b.studies[1]!.files[0]!)).toEqual(await readFile(a.studies[1]!.files[0]!));

    const signed = await writeSyntheticSite(
      { ...small, signedPixels: true, unlabeledStudies: 0 },
      path.join(dir, 's'),
    );
    const bytes = new Uint8Array(await readFile(signed.studies[0]!.files[0]!));
    const ds = dicomParser.parseDicom(bytes);
    expect(ds.uint16('x00280103')).toBe(1);
    expect(ds.uint16('x00280101')).toBe(16);
    expect(Number(ds.string('x00281052'))).toBe(0);
    expect(Math.abs(huAt(ds, bytes, 1, 1) + 1000)).toBeLessThan(5 * spec.noiseHu);
    const lines = (await readFile(signed.labelsPath, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(4);
  });
});

describe('writeBadInputs', () => {
  it('writes one file per robustness case, each carrying PHI', async () => {
    const bad = await writeBadInputs(path.join(dir, 'bad'), 99, {
      phi: (tag, i) => (tag === 'PatientID' && i === 3 ? 'CANARY-MRN-0003' : undefined),
    });
    expect(bad.map((b) => b.expectedReason).sort()).toEqual(
      [
        'body-part-mismatch',
        'modality-mismatch',
        'no-pixel-data',
        'not-dicom',
        'not-dicom',
        'truncated',
        'unsupported-transfer-syntax',
      ].sort(),
    );
    for (const b of bad) expect(IMAGE_EXCLUSION_REASONS).toContain(b.expectedReason);
    expect(bad.find((b) => b.expectedReason === 'no-pixel-data')!.phiValues).toContain('CANARY-MRN-0003');

    for (const b of bad) {
      const bytes = new Uint8Array(await readFile(b.file));
      const text = Buffer.from(bytes).toString('latin1');
      expect(b.phiValues.length).toBeGreaterThan(0);
      for (const v of b.phiValues) expect(text.includes(v), `${path.basename(b.file)}: ${v}`).toBe(true);
      const isPart10 = bytes.length > 132 && text.slice(128, 132) === 'DICM';

      switch (b.expectedReason) {
        case 'not-dicom':
          expect(isPart10).toBe(false);
          expect(() => dicomParser.parseDicom(bytes)).toThrow();
          break;
        case 'truncated': {
          expect(isPart10).toBe(true);
          expect(() => dicomParser.parseDicom(bytes)).toThrow();
          // The header is intact: only the pixel data is cut.
          const head = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
          expect(head.string('x00080060')).toBe('CT');
          break;
        }
        case 'no-pixel-data': {
          const ds = dicomParser.parseDicom(bytes);
          expect(ds.elements['x7fe00010']).toBeUndefined();
          expect(ds.string('x00080060')).toBe('CT');
          break;
        }
        case 'unsupported-transfer-syntax': {
          const ds = dicomParser.parseDicom(bytes);
          expect(ds.string('x00020010')).toBe(TRANSFER_SYNTAX.mpeg4);
          const el = ds.elements['x7fe00010']!;
          expect(el.encapsulatedPixelData).toBe(true);
          expect(el.fragments!.length).toBeGreaterThanOrEqual(1);
          break;
        }
        case 'modality-mismatch': {
          const ds = dicomParser.parseDicom(bytes);
          expect(ds.string('x00080060')).toBe('MR');
          expect(ds.string('x00080016')).toBe(SOP_CLASS.mrImage);
          expect(ds.string('x00180015')).toBe('CHEST');
          expect(ds.elements['x7fe00010']!.length).toBe(128 * 128 * 2);
          break;
        }
        case 'body-part-mismatch': {
          const ds = dicomParser.parseDicom(bytes);
          expect(ds.string('x00080060')).toBe('CT');
          expect(ds.string('x00180015')).toBe('HEAD');
          expect(ds.elements['x7fe00010']!.length).toBe(128 * 128 * 2);
          break;
        }
        default:
          throw new Error(`unexpected reason ${b.expectedReason}`);
      }
    }
  });
});
