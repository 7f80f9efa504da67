import { describe, expect, it } from 'vitest';
import { decodeFrame } from './decode.ts';
import { type FixtureOptions, makeDicom, TS } from './fixtures.test-util.ts';
import { parseDicom } from './parse.ts';

function decode(opts: FixtureOptions, frame = 0) {
  const parsed = parseDicom(makeDicom(opts));
  if (!parsed.ok) throw new Error(`fixture did not parse: ${parsed.reason}`);
  return decodeFrame(parsed.image, frame);
}

function values(opts: FixtureOptions, frame = 0): number[] {
  const r = decode(opts, frame);
  if (!r.ok) throw new Error(`decode failed: ${r.reason}`);
  return Array.from(r.values);
}

/** Two's-complement word for a logical signed value in `bits` bits, with `garbage` OR-ed above them. */
const word = (v: number, bits: number, garbage = 0) => (v < 0 ? v + 2 ** bits : v) | garbage;

describe('decodeFrame', () => {
  const signed12 = [-2048, -1000, -1, 0, 1, 7, 1000, 2047];

  for (const [name, ts] of Object.entries({
    implicit: TS.implicit,
    explicit: TS.explicit,
    'big endian': TS.big,
    deflated: TS.deflated,
  })) {
    it(`signed 12-bit in 16 with garbage high bits, rescaled (${name})`, () => {
      const words = signed12.map((v, i) => word(v, 12, (i % 2 ? 0xa000 : 0xf000) & 0xf000));
      const got = values({
        transferSyntax: ts,
        rows: 2,
        columns: 4,
        bitsStored: 12,
        pixelRepresentation: 1,
        rescaleSlope: 0.5,
        rescaleIntercept: 100,
        words,
      });
      expect(got).toEqual(signed12.map((v) => v * 0.5 + 100));
    });
  }

  it('unsigned 12-bit ignores high bits', () => {
    const logical = [0, 1, 2048, 4095];
    expect(values({ rows: 2, columns: 2, bitsStored: 12, words: logical.map((v) => v | 0x5000) })).toEqual(
      logical,
    );
  });

  it('unsigned and signed full 16-bit', () => {
    expect(values({ rows: 1, columns: 4, words: [0, 1, 32768, 65535] })).toEqual([0, 1, 32768, 65535]);
    const s = [-32768, -1, 0, 32767];
    expect(values({ rows: 1, columns: 4, pixelRepresentation: 1, words: s.map((v) => word(v, 16)) })).toEqual(
      s,
    );
    expect(
      values({
        transferSyntax: TS.big,
        rows: 1,
        columns: 4,
        pixelRepresentation: 1,
        words: s.map((v) => word(v, 16)),
      }),
    ).toEqual(s);
  });

  it('HighBit above BitsStored − 1: values sit in the high bits', () => {
    const logical = [-2048, -1, 0, 2047];
    const words = logical.map((v) => (word(v, 12) << 4) | 0x9);
    expect(
      values({ rows: 1, columns: 4, bitsStored: 12, highBit: 15, pixelRepresentation: 1, words }),
    ).toEqual(logical);
  });

  it('8-bit, including big-endian OW with swapped byte pairs', () => {
    const w = [0, 1, 127, 128, 200, 255];
    expect(values({ rows: 2, columns: 3, bitsAllocated: 8, words: w })).toEqual(w);
    expect(values({ transferSyntax: TS.big, rows: 2, columns: 3, bitsAllocated: 8, words: w })).toEqual(w);
    expect(
      values({ transferSyntax: TS.big, rows: 2, columns: 3, bitsAllocated: 8, pixelVr: 'OW', words: w }),
    ).toEqual(w);
    const s = [-128, -1, 0, 127];
    expect(
      values({
        rows: 2,
        columns: 2,
        bitsAllocated: 8,
        pixelRepresentation: 1,
        words: s.map((v) => word(v, 8)),
      }),
    ).toEqual(s);
  });

  it('MONOCHROME1 keeps values and asks for inversion', () => {
    const r = decode({ rows: 1, columns: 2, photometric: 'MONOCHROME1', bitsStored: 10, words: [3, 1000] });
    expect(r.ok && Array.from(r.values)).toEqual([3, 1000]);
    expect(r.ok && r.invert).toBe(true);
    expect(r.ok && r.valueRange).toEqual([0, 1023]);
    const m2 = decode({
      rows: 1,
      columns: 1,
      bitsStored: 12,
      pixelRepresentation: 1,
      rescaleSlope: 2,
      rescaleIntercept: 1,
    });
    expect(m2.ok && m2.invert).toBe(false);
    expect(m2.ok && m2.valueRange).toEqual([-2048 * 2 + 1, 2047 * 2 + 1]);
  });

  it('RGB by pixel and by plane both come out planar, without rescale', () => {
    // 2 pixels: (10,20,30) and (40,50,60).
    const byPixel = values({
      rows: 1,
      columns: 2,
      samplesPerPixel: 3,
      bitsAllocated: 8,
      planarConfiguration: 0,
      rescaleSlope: 3,
      words: [10, 20, 30, 40, 50, 60],
    });
    const byPlane = values({
      rows: 1,
      columns: 2,
      samplesPerPixel: 3,
      bitsAllocated: 8,
      planarConfiguration: 1,
      words: [10, 40, 20, 50, 30, 60],
    });
    expect(byPixel).toEqual([10, 40, 20, 50, 30, 60]);
    expect(byPlane).toEqual(byPixel);
    const r = decode({
      rows: 1,
      columns: 2,
      samplesPerPixel: 3,
      bitsAllocated: 8,
      words: [1, 2, 3, 4, 5, 6],
    });
    expect(r.ok && r.samples).toBe(3);
  });

  it('multi-frame: each frame addressable; out of range is a decode error', () => {
    const opts = { rows: 1, columns: 2, frames: 2, words: [1, 2, 3, 4] };
    expect(values(opts, 0)).toEqual([1, 2]);
    expect(values(opts, 1)).toEqual([3, 4]);
    expect(decode(opts, 2)).toEqual({ ok: false, reason: 'decode-error' });
  });

  it('rejects pixel formats it does not handle', () => {
    expect(decode({ photometric: 'YBR_ICT', samplesPerPixel: 3, bitsAllocated: 8 })).toEqual({
      ok: false,
      reason: 'unsupported-pixel-format',
    });
    expect(decode({ photometric: 'PALETTE COLOR', bitsAllocated: 8 })).toEqual({
      ok: false,
      reason: 'unsupported-pixel-format',
    });
    expect(decode({ photometric: 'RGB', samplesPerPixel: 1 })).toEqual({
      ok: false,
      reason: 'unsupported-pixel-format',
    });
    expect(decode({ bitsStored: 12, highBit: 3 })).toEqual({ ok: false, reason: 'unsupported-pixel-format' });
  });

  it('does not depend on the alignment of the file buffer', () => {
    const bytes = makeDicom({ rows: 1, columns: 3, words: [1, 513, 65535] });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const parsed = parseDicom(shifted.subarray(1));
    const r = parsed.ok ? decodeFrame(parsed.image) : undefined;
    expect(r?.ok && Array.from(r.values)).toEqual([1, 513, 65535]);
  });
});
