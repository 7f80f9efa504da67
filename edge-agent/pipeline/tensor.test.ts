import { describe, expect, it } from 'vitest';
import { ModelManifest } from '../../schemas/model-manifest.ts';
import { decodeFrame } from '../dicom/decode.ts';
import { type FixtureOptions, makeDicom, TS } from '../dicom/fixtures.test-util.ts';
import { parseDicom } from '../dicom/parse.ts';
import { preprocess } from './preprocess.ts';
import { frameToTensor } from './tensor.ts';

type Input = ModelManifest['input'];
const input = (extra: Partial<Input> = {}): Input =>
  ModelManifest.shape.input.parse({
    name: 'image',
    channels: 3,
    height: 13,
    width: 11,
    window: { center: 40, width: 400 },
    normalize: { mean: 0.485, std: 0.229 },
    resize: 'bilinear',
    ...extra,
  });

let seed = 3;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const words = (n: number, max: number) => Array.from({ length: n }, () => Math.floor(rand() * (max + 1)));

function both(opts: FixtureOptions, inp: Input, frame = 0) {
  const parsed = parseDicom(makeDicom(opts));
  if (!parsed.ok) throw new Error(parsed.reason);
  const decoded = decodeFrame(parsed.image, frame);
  if (!decoded.ok) throw new Error(decoded.reason);
  const reference = preprocess(decoded, inp);
  const fused = frameToTensor(parsed.image, frame, inp);
  if (!fused.ok) throw new Error(fused.reason);
  return { reference, fused: fused.tensor, image: parsed.image };
}

describe('frameToTensor (fused decode + preprocess)', () => {
  const cases: [string, FixtureOptions][] = [
    [
      '12-bit CT, rescale',
      { rows: 37, columns: 29, bitsStored: 12, rescaleIntercept: -1024, words: words(37 * 29, 4095) },
    ],
    [
      '16-bit signed, high bits garbage-free',
      { rows: 20, columns: 24, bitsStored: 16, pixelRepresentation: 1, words: words(480, 65535) },
    ],
    [
      '12 of 16 bits with high bit 15 (shifted), signed',
      {
        rows: 16,
        columns: 16,
        bitsStored: 12,
        highBit: 15,
        pixelRepresentation: 1,
        words: words(256, 65535),
      },
    ],
    [
      '8-bit MONOCHROME1',
      {
        rows: 19,
        columns: 17,
        bitsAllocated: 8,
        bitsStored: 8,
        photometric: 'MONOCHROME1',
        words: words(19 * 17, 255),
      },
    ],
    [
      'big endian, slope 0.5',
      {
        transferSyntax: TS.big,
        rows: 15,
        columns: 14,
        bitsStored: 12,
        rescaleSlope: 0.5,
        words: words(210, 4095),
      },
    ],
    [
      'implicit, same size as the input',
      { transferSyntax: TS.implicit, rows: 13, columns: 11, bitsStored: 12, words: words(143, 4095) },
    ],
    [
      'pixel padding',
      {
        rows: 20,
        columns: 20,
        bitsStored: 12,
        rescaleIntercept: -1024,
        words: words(400, 4095).map((w, i) => (i % 7 === 0 ? 0 : w)),
        extra: { PixelPaddingValue: 0 },
      },
    ],
  ];
  for (const [name, opts] of cases) {
    it(`is bit-identical to preprocess(decodeFrame()) — ${name}`, () => {
      for (const inp of [
        input(),
        input({ channels: 1 }),
        input({ window: undefined }),
        input({ height: 224, width: 224 }),
      ]) {
        const { reference, fused } = both(opts, inp);
        expect(fused.length).toBe(reference.length);
        expect(Buffer.from(fused.buffer).equals(Buffer.from(reference.buffer))).toBe(true);
      }
    });
  }

  it('MONOCHROME1 without a window inverts within the value range, like preprocess', () => {
    const opts: FixtureOptions = {
      rows: 9,
      columns: 9,
      bitsStored: 10,
      photometric: 'MONOCHROME1',
      words: words(81, 1023),
    };
    const { reference, fused } = both(opts, input({ window: undefined }));
    expect(Array.from(fused)).toEqual(Array.from(reference));
  });

  it('writes into a batch buffer at an offset and leaves the rest alone', () => {
    const inp = input();
    const per = 3 * 13 * 11;
    const parsed = parseDicom(makeDicom({ rows: 30, columns: 30, bitsStored: 12, words: words(900, 4095) }));
    if (!parsed.ok) throw new Error(parsed.reason);
    const batch = new Float32Array(3 * per).fill(7);
    const r = frameToTensor(parsed.image, 0, inp, batch, per);
    expect(r.ok).toBe(true);
    const alone = frameToTensor(parsed.image, 0, inp);
    if (!alone.ok) throw new Error(alone.reason);
    expect(Array.from(batch.subarray(per, 2 * per))).toEqual(Array.from(alone.tensor));
    expect(batch.subarray(0, per).every((v) => v === 7)).toBe(true);
    expect(batch.subarray(2 * per).every((v) => v === 7)).toBe(true);
  });

  it('colour frames take the reference path', () => {
    const opts: FixtureOptions = {
      rows: 8,
      columns: 8,
      samplesPerPixel: 3,
      photometric: 'RGB',
      bitsAllocated: 8,
      bitsStored: 8,
      words: words(192, 255),
    };
    const { reference, fused } = both(opts, input({ window: undefined }));
    expect(Array.from(fused)).toEqual(Array.from(reference));
  });

  it('passes decode failures through', () => {
    const parsed = parseDicom(
      makeDicom({ rows: 8, columns: 8, bitsStored: 12, words: words(64, 4095), frames: 1 }),
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(frameToTensor(parsed.image, 3, input())).toEqual({ ok: false, reason: 'decode-error' });
  });
});
