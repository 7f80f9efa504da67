import type { ModelManifest } from '../../schemas/model-manifest.ts';
import { decodeFrame, type StoredFrame, storedFrame } from '../dicom/decode.ts';
import type { DicomImage, ImageExclusionReason } from '../dicom/parse.ts';
import { bilinearTaps, preprocess, voiLinear } from './preprocess.ts';

/**
 * Decode + preprocess fused, for grayscale frames (CT, MR, CR/DX, most of an archive): stored word → model
 * input in one pass, without the two full-size float planes `decodeFrame` + `preprocess` allocate.
 *
 * Every stored word of a frame goes through the same chain — mask, sign-extend, padding, rescale (rounded to
 * float32, as `decodeFrame` stores it), VOI window, MONOCHROME1 inversion, normalisation (rounded to float32,
 * as `preprocess` stores it) — so the chain is a function of the word alone: a lookup table of 2^BitsStored
 * entries (4096 for 12-bit CT), built once per distinct set of parameters (a series shares them) and kept in a
 * small cache. The bilinear resize then reads source pixels through the table at its taps only. The result
 * is bit-identical to `preprocess(decodeFrame(image, frame), input)` (pipeline/tensor.test.ts checks it);
 * colour frames take that reference path.
 *
 * `out`/`offset` let the caller decode straight into a batch tensor.
 */
export function frameToTensor(
  image: DicomImage,
  frame: number,
  input: ModelManifest['input'],
  out?: Float32Array,
  offset = 0,
): { ok: true; tensor: Float32Array } | { ok: false; reason: ImageExclusionReason } {
  const per = input.channels * input.height * input.width;
  const target = out ?? new Float32Array(per);
  if (target.length < offset + per) throw new Error('tensor: output buffer too small');
  if (image.samplesPerPixel !== 1) {
    const decoded = decodeFrame(image, frame);
    if (!decoded.ok) return decoded;
    target.set(preprocess(decoded, input), offset);
    return { ok: true, tensor: target };
  }
  const s = storedFrame(image, frame);
  if (!s.ok) return s;
  const lut = lutFor(s, input);
  resizeThroughLut(s, lut, input.height, input.width, target, offset);
  const outPlane = input.height * input.width;
  for (let c = 1; c < input.channels; c++) {
    target.copyWithin(offset + c * outPlane, offset, offset + outPlane);
  }
  return { ok: true, tensor: target };
}

const LUT_CACHE_SIZE = 8;
const lutCache = new Map<string, Float32Array>();

function lutFor(s: StoredFrame, input: ModelManifest['input']): Float32Array {
  const { mean, std } = input.normalize ?? { mean: 0, std: 1 };
  const w = input.window;
  const key = [
    s.bitsStored,
    s.mask,
    s.signed ? 1 : 0,
    s.slope,
    s.intercept,
    s.padLo,
    s.padHi,
    s.black,
    s.invert ? 1 : 0,
    s.valueRange[0],
    s.valueRange[1],
    w ? w.center : 'none',
    w ? w.width : 'none',
    mean,
    std,
  ].join(',');
  const hit = lutCache.get(key);
  if (hit) {
    // Most recently used last (Map keeps insertion order).
    lutCache.delete(key);
    lutCache.set(key, hit);
    return hit;
  }
  const size = s.mask + 1;
  const lut = new Float32Array(size);
  const signBit = 2 ** (s.bitsStored - 1);
  const wrap = 2 ** s.bitsStored;
  const [lo, hi] = s.valueRange;
  for (let u = 0; u < size; u++) {
    let v = u;
    if (s.signed && v >= signBit) v -= wrap;
    // What decodeFrame stores (float32) …
    let m = Math.fround(v >= s.padLo && v <= s.padHi ? s.black : v * s.slope + s.intercept);
    // … and what preprocess computes from it.
    if (w) {
      m = voiLinear(m, w.center, w.width);
      if (s.invert) m = 1 - m;
    } else if (s.invert) {
      m = lo + hi - m;
    }
    lut[u] = (m - mean) / std;
  }
  if (lutCache.size >= LUT_CACHE_SIZE) lutCache.delete(lutCache.keys().next().value!);
  lutCache.set(key, lut);
  return lut;
}

/** `resizeBilinear` (half-pixel centres, edge clamp) reading source pixels as lut[(word >>> shift) & mask]. */
function resizeThroughLut(
  s: StoredFrame,
  lut: Float32Array,
  dstH: number,
  dstW: number,
  out: Float32Array,
  offset: number,
): void {
  const { raw, rows: srcH, columns: srcW, shift, mask } = s;
  if (srcH === dstH && srcW === dstW) {
    const n = srcH * srcW;
    for (let i = 0; i < n; i++) out[offset + i] = lut[(raw[i]! >>> shift) & mask]!;
    return;
  }
  const { x0, x1, fx, y0, y1, fy } = bilinearTaps(srcH, srcW, dstH, dstW);
  for (let y = 0; y < dstH; y++) {
    const r0 = y0[y]! * srcW;
    const r1 = y1[y]! * srcW;
    const wy = fy[y]!;
    const o = offset + y * dstW;
    for (let x = 0; x < dstW; x++) {
      const a = x0[x]!;
      const b = x1[x]!;
      const wx = fx[x]!;
      const ta = lut[(raw[r0 + a]! >>> shift) & mask]!;
      const tb = lut[(raw[r0 + b]! >>> shift) & mask]!;
      const ba = lut[(raw[r1 + a]! >>> shift) & mask]!;
      const bb = lut[(raw[r1 + b]! >>> shift) & mask]!;
      const top = ta + (tb - ta) * wx;
      const bottom = ba + (bb - ba) * wx;
      out[o + x] = top + (bottom - top) * wy;
    }
  }
}
