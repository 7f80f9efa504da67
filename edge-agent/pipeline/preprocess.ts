import type { ModelManifest } from '../../schemas/model-manifest.ts';
import type { DecodedFrame } from '../dicom/decode.ts';

/**
 * Preprocess operator: decoded modality values → the model's CHW float32 input, exactly as the manifest
 * declares it. Order matters and is fixed: (luminance) → window → MONOCHROME1 inversion → normalise → resize
 * → channel replication. Windowing clamps, so it must come before resampling to match what the vendor trained on.
 */

/**
 * DICOM linear VOI LUT (PS3.3 C.11.2.1.2.1) with output range [0, 1]. Requires width >= 1 (the manifest
 * schema enforces it); at width 1 the function degenerates to a threshold.
 */
export function voiLinear(x: number, center: number, width: number): number {
  const c = center - 0.5;
  const w = width - 1;
  if (x <= c - w / 2) return 0;
  if (x > c + w / 2) return 1;
  return (x - c) / w + 0.5;
}

/**
 * Bilinear resampling of one plane with half-pixel centres (ONNX Resize `half_pixel`, PyTorch
 * `align_corners=False`); source coordinates outside the image clamp to the edge pixel. No antialiasing on
 * downscale, like both references' defaults. Same size in and out returns `src` itself (no copy, no
 * resampling error).
 */
export function resizeBilinear(
  src: Float32Array,
  srcH: number,
  srcW: number,
  dstH: number,
  dstW: number,
): Float32Array {
  if (srcH === dstH && srcW === dstW) return src;
  const { x0, x1, fx, y0, y1, fy } = bilinearTaps(srcH, srcW, dstH, dstW);

  const out = new Float32Array(dstH * dstW);
  for (let y = 0; y < dstH; y++) {
    const r0 = y0[y]! * srcW;
    const r1 = y1[y]! * srcW;
    const wy = fy[y]!;
    const o = y * dstW;
    for (let x = 0; x < dstW; x++) {
      const a = x0[x]!;
      const b = x1[x]!;
      const wx = fx[x]!;
      const top = src[r0 + a]! + (src[r0 + b]! - src[r0 + a]!) * wx;
      const bottom = src[r1 + a]! + (src[r1 + b]! - src[r1 + a]!) * wx;
      out[o + x] = top + (bottom - top) * wy;
    }
  }
  return out;
}

/**
 * Bilinear taps for resampling srcH × srcW to dstH × dstW: per output column and row, the two source indices
 * (half-pixel centres, clamped to the edge) and the weight of the second. Shared with tensor.ts's fused path.
 */
export function bilinearTaps(srcH: number, srcW: number, dstH: number, dstW: number) {
  const axis = (srcN: number, dstN: number) => {
    const i0 = new Int32Array(dstN);
    const i1 = new Int32Array(dstN);
    const frac = new Float32Array(dstN);
    const scale = srcN / dstN;
    for (let d = 0; d < dstN; d++) {
      const s = Math.min(Math.max((d + 0.5) * scale - 0.5, 0), srcN - 1);
      const lo = Math.floor(s);
      i0[d] = lo;
      i1[d] = Math.min(lo + 1, srcN - 1);
      frac[d] = s - lo;
    }
    return { i0, i1, frac };
  };
  const x = axis(srcW, dstW);
  const y = axis(srcH, dstH);
  return { x0: x.i0, x1: x.i1, fx: x.frac, y0: y.i0, y1: y.i1, fy: y.frac };
}

/** ITU-R BT.601 luma weights (what PIL's convert('L') and most training pipelines use for RGB → gray). */
const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * Returns channels × height × width float32 data for the manifest's input.
 *
 * - Without a window the rescaled modality value itself is used; MONOCHROME1 is then inverted within the
 *   stored value range (min + max − v) rather than 1 − v, which only makes sense after windowing to [0, 1].
 * - RGB input with channels = 1 becomes BT.601 luminance before windowing; grayscale input with channels = 3
 *   is replicated into all three channels. RGB with channels = 3 is windowed per channel if a window is given.
 */
export function preprocess(decoded: DecodedFrame, input: ModelManifest['input']): Float32Array {
  const { rows, columns, samples, values } = decoded;
  const plane = rows * columns;
  const outPlane = input.height * input.width;
  const out = new Float32Array(input.channels * outPlane);

  const sourcePlanes: Float32Array[] = [];
  if (samples === 1) {
    sourcePlanes.push(values.subarray(0, plane));
  } else if (input.channels === 1) {
    const luma = new Float32Array(plane);
    for (let i = 0; i < plane; i++) {
      luma[i] = LUMA[0] * values[i]! + LUMA[1] * values[plane + i]! + LUMA[2] * values[2 * plane + i]!;
    }
    sourcePlanes.push(luma);
  } else {
    for (let s = 0; s < samples; s++) sourcePlanes.push(values.subarray(s * plane, (s + 1) * plane));
  }

  const { mean, std } = input.normalize ?? { mean: 0, std: 1 };
  const window = input.window;
  const [lo, hi] = decoded.valueRange;
  for (let c = 0; c < sourcePlanes.length; c++) {
    const src = sourcePlanes[c]!;
    const mapped = new Float32Array(plane);
    for (let i = 0; i < plane; i++) {
      let v = src[i]!;
      if (window) {
        v = voiLinear(v, window.center, window.width);
        if (decoded.invert) v = 1 - v;
      } else if (decoded.invert) {
        v = lo + hi - v;
      }
      mapped[i] = (v - mean) / std;
    }
    out.set(resizeBilinear(mapped, rows, columns, input.height, input.width), c * outPlane);
  }
  // Grayscale into a 3-channel model: same plane in every channel.
  for (let c = sourcePlanes.length; c < input.channels; c++) {
    out.copyWithin(c * outPlane, 0, outPlane);
  }
  return out;
}
