import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectImage } from '../pipeline/select.ts';
import { studyAttributesOf } from '../pipeline/study-attributes.ts';
import { ageBandOfYears } from '../report/attributes.ts';
import { decodeFrame } from './decode.ts';
import { makeDicom } from './fixtures.test-util.ts';
import { ageInYears, parseDicom } from './parse.ts';

const parse = (bytes: Uint8Array) => {
  const r = parseDicom(bytes);
  if (!r.ok) throw new Error(r.reason);
  return r.image;
};
const values = (bytes: Uint8Array, frame = 0) => {
  const d = decodeFrame(parse(bytes), frame);
  if (!d.ok) throw new Error(d.reason);
  return Array.from(d.values);
};

describe('header attributes', () => {
  it('derives age from Patient Age, else Birth Date vs Study Date, and bands it', () => {
    expect(ageInYears('045Y')).toBe(45);
    expect(ageInYears('006M')).toBe(0);
    expect(ageInYears(undefined, '19600615', '20240614')).toBe(63);
    expect(ageInYears(undefined, '19600615', '20240615')).toBe(64);
    expect(ageInYears(undefined, 'garbage', '20240615')).toBeUndefined();
    expect([17, 18, 39, 40, 59, 60, 74, 75].map((y) => ageBandOfYears(y))).toEqual([
      '0-17',
      '18-39',
      '18-39',
      '40-59',
      '40-59',
      '60-74',
      '60-74',
      '75+',
    ]);
    const image = parse(
      makeDicom({
        extra: {
          PatientSex: 'M',
          PatientBirthDate: '19400101',
          StudyDate: '20240101',
          Manufacturer: 'ACME ',
          ManufacturerModelName: 'Scan 9',
          BodyPartExamined: 'CHEST',
        },
      }),
    );
    expect(studyAttributesOf(image)).toEqual({
      sex: 'M',
      ageBand: '75+',
      manufacturer: 'ACME',
      scannerModel: 'Scan 9',
      bodyPart: 'CHEST',
    });
  });

  it('selects by view position and image type when the manifest names them', () => {
    const m = { modality: ['DX'], viewPosition: ['PA', 'AP'], imageType: ['ORIGINAL', 'PRIMARY'] };
    const img = (extra: Record<string, unknown>) => parse(makeDicom({ modality: 'DX', extra }));
    expect(selectImage(img({ ViewPosition: 'PA', ImageType: ['ORIGINAL', 'PRIMARY'] }), m)).toBeUndefined();
    expect(selectImage(img({ ViewPosition: 'LL', ImageType: ['ORIGINAL', 'PRIMARY'] }), m)).toBe(
      'view-mismatch',
    );
    expect(selectImage(img({ ImageType: ['ORIGINAL', 'PRIMARY'] }), m)).toBe('view-mismatch');
    expect(selectImage(img({ ViewPosition: 'AP', ImageType: ['DERIVED', 'SECONDARY'] }), m)).toBe(
      'image-type-mismatch',
    );
  });
});

describe('pixel details', () => {
  it('maps Pixel Padding (value and range limit) to the black end of the range', () => {
    const bytes = makeDicom({
      rows: 1,
      columns: 4,
      bitsStored: 12,
      rescaleIntercept: -1024,
      words: [0, 5, 10, 2000],
      extra: { PixelPaddingValue: 0, PixelPaddingRangeLimit: 5, _vrMap: { PixelData: 'OW' } },
    });
    expect(values(bytes)).toEqual([-1024, -1024, 10 - 1024, 2000 - 1024]);
    const mono1 = makeDicom({
      rows: 1,
      columns: 2,
      bitsAllocated: 8,
      photometric: 'MONOCHROME1',
      words: [7, 100],
      extra: { PixelPaddingValue: 7 },
    });
    expect(values(mono1)).toEqual([255, 100]);
  });

  it('applies per-frame functional-group rescale, falling back to the shared group', () => {
    const group = (slope: number, intercept: number) => ({
      PixelValueTransformationSequence: [
        { RescaleSlope: String(slope), RescaleIntercept: String(intercept) },
      ],
    });
    const bytes = makeDicom({
      rows: 1,
      columns: 2,
      frames: 2,
      words: [1, 2, 1, 2],
      extra: {
        SharedFunctionalGroupsSequence: [group(1, 0)],
        PerFrameFunctionalGroupsSequence: [group(2, -10), {}],
      },
    });
    expect(values(bytes, 0)).toEqual([-8, -6]);
    expect(values(bytes, 1)).toEqual([1, 2]);
  });

  it('converts native YBR_FULL and YBR_FULL_422 to RGB as dcmtk does (dcm2pnm)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-ybr-'));
    try {
      const w = 4;
      const ybr = [
        [16, 128, 128],
        [235, 128, 128],
        [81, 90, 240],
        [145, 54, 34],
      ];
      const cases = {
        YBR_FULL: ybr.flat(),
        // pairs share chroma
        YBR_FULL_422: [ybr[0]![0]!, ybr[1]![0]!, 128, 128, ybr[2]![0]!, ybr[3]![0]!, 90, 240],
      };
      for (const [photometric, words] of Object.entries(cases)) {
        const bytes = makeDicom({
          rows: 1,
          columns: w,
          bitsAllocated: 8,
          samplesPerPixel: 3,
          photometric,
          words,
        });
        const file = join(dir, `${photometric}.dcm`);
        writeFileSync(file, bytes);
        execFileSync('dcm2pnm', ['--write-raw-pnm', file, join(dir, `${photometric}.ppm`)]);
        const ppm = readFileSync(join(dir, `${photometric}.ppm`));
        const rgb = ppm.subarray(ppm.length - w * 3);
        const ours = values(bytes);
        for (let p = 0; p < w; p++) {
          // dcmtk truncates to whole numbers with fixed-point coefficients; ours stay in float.
          for (let c = 0; c < 3; c++) expect(Math.abs(ours[c * w + p]! - rgb[p * 3 + c]!)).toBeLessThan(1.5);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
