import { describe, expect, it } from 'vitest';
import { ModelManifest } from '../../schemas/model-manifest.ts';
import type { DecodedFrame } from '../dicom/decode.ts';
import { preprocess, resizeBilinear, voiLinear } from './preprocess.ts';

type Input = ModelManifest['input'];
const input = (extra: Partial<Input>): Input => ({
  name: 'image',
  channels: 1,
  height: 2,
  width: 2,
  normalize: { mean: 0, std: 1 },
  resize: 'bilinear',
  ...extra,
});

const frame = (
  values: number[],
  rows: number,
  columns: number,
  extra: Partial<DecodedFrame> = {},
): DecodedFrame => ({
  ok: true,
  values: Float32Array.from(values),
  rows,
  columns,
  samples: values.length / (rows * columns),
  invert: false,
  valueRange: [-1024, 3071],
  ...extra,
});

describe('voiLinear', () => {
  // PS3.3 C.11.2.1.2.1 written out literally, as the reference.
  const reference = (x: number, c: number, w: number) =>
    x <= c - 0.5 - (w - 1) / 2 ? 0 : x > c - 0.5 + (w - 1) / 2 ? 1 : (x - (c - 0.5)) / (w - 1) + 0.5;

  it('matches the standard at and around both boundaries', () => {
    for (const [c, w] of [
      [40, 400],
      [-600, 1500],
      [0.5, 2],
      [2048, 4096],
    ] as const) {
      const lower = c - 0.5 - (w - 1) / 2;
      const upper = c - 0.5 + (w - 1) / 2;
      for (const x of [
        lower - 1,
        lower,
        lower + 1e-6,
        lower + 0.5,
        c,
        upper - 1e-6,
        upper,
        upper + 1e-6,
        upper + 1,
      ]) {
        expect(voiLinear(x, c, w)).toBeCloseTo(reference(x, c, w), 12);
      }
      expect(voiLinear(lower, c, w)).toBe(0);
      expect(voiLinear(upper, c, w)).toBeCloseTo(1, 12);
      expect(voiLinear(upper + 1e-9, c, w)).toBe(1);
    }
    expect(voiLinear(40, 40, 400)).toBeCloseTo(0.5 + 0.5 / 399, 12);
  });

  it('width 1 is a threshold at c − 0.5', () => {
    expect(voiLinear(99.5, 100, 1)).toBe(0);
    expect(voiLinear(99.5001, 100, 1)).toBe(1);
  });
});

describe('resizeBilinear', () => {
  it('returns the input itself when sizes match', () => {
    const src = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect(resizeBilinear(src, 2, 3, 2, 3)).toBe(src);
  });

  it('2×2 → 4×4 with half-pixel centres (hand-computed, = PyTorch align_corners=False)', () => {
    const out = resizeBilinear(Float32Array.from([0, 1, 2, 3]), 2, 2, 4, 4);
    // Source coordinates per output index: clamp(-0.25)=0, 0.25, 0.75, clamp(1.25)=1; value = x + 2y.
    expect(Array.from(out)).toEqual([
      0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3,
    ]);
  });

  it('4×4 → 2×2 averages 2×2 blocks (half-pixel centres fall between source pixels)', () => {
    const src = Float32Array.from({ length: 16 }, (_, i) => i);
    expect(Array.from(resizeBilinear(src, 4, 4, 2, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
  });

  it('non-square, non-integer scale stays within the source range', () => {
    const src = Float32Array.from({ length: 3 * 5 }, (_, i) => i);
    const out = resizeBilinear(src, 3, 5, 7, 2);
    expect(out.length).toBe(14);
    for (const v of out) expect(v >= 0 && v <= 14).toBe(true);
  });
});

describe('preprocess', () => {
  it('windows, normalises and keeps size when it already matches', () => {
    const out = preprocess(
      frame([-1000, 39.5, 240, 3000], 2, 2),
      input({ window: { center: 40, width: 401 }, normalize: { mean: 0.5, std: 0.25 } }),
    );
    // voi: 0, 0.5 (x = c − 0.5 is the midpoint), 1, 1 → (v − 0.5) / 0.25
    expect(Array.from(out)).toEqual([-2, 0, 2, 2]);
  });

  it('MONOCHROME1 flips after windowing, or within the value range without a window', () => {
    const m1 = frame([-1000, 39.5, 240, 3000], 2, 2, { invert: true });
    expect(Array.from(preprocess(m1, input({ window: { center: 40, width: 401 } })))).toEqual([1, 0.5, 0, 0]);
    expect(Array.from(preprocess(m1, input({})))).toEqual([
      -1024 + 3071 + 1000,
      2047 - 39.5,
      2047 - 240,
      2047 - 3000,
    ]);
  });

  it('uses rescaled values as they are without a window, then resizes', () => {
    const out = preprocess(frame([0, 1, 2, 3], 2, 2), input({ height: 4, width: 4 }));
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 0.25, 0.75, 1]);
    expect(out.length).toBe(16);
  });

  it('replicates grayscale into three channels', () => {
    const out = preprocess(frame([1, 2, 3, 4], 2, 2), input({ channels: 3 }));
    expect(Array.from(out)).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
  });

  it('RGB: per channel for 3-channel models, BT.601 luminance for 1-channel models', () => {
    // One pixel per plane layout: R plane, G plane, B plane (1×2 image).
    const rgb = frame([100, 0, 50, 255, 200, 10], 1, 2);
    const three = preprocess(
      rgb,
      input({ channels: 3, height: 1, width: 2, normalize: { mean: 0, std: 255 } }),
    );
    expect(Array.from(three)).toEqual([100, 0, 50, 255, 200, 10].map((v) => Math.fround(v / 255)));
    const one = preprocess(rgb, input({ channels: 1, height: 1, width: 2 }));
    expect(one[0]).toBeCloseTo(0.299 * 100 + 0.587 * 50 + 0.114 * 200, 4);
    expect(one[1]).toBeCloseTo(0.587 * 255 + 0.114 * 10, 4);
  });

  it('accepts a manifest input straight from the schema (defaults applied)', () => {
    const m = ModelManifest.shape.input.parse({ name: 'x', channels: 1, height: 2, width: 2 });
    expect(Array.from(preprocess(frame([1, 2, 3, 4], 2, 2), m))).toEqual([1, 2, 3, 4]);
  });
});
