import { endianness } from 'node:os';
import type { DicomImage, ImageExclusionReason } from './parse.ts';

/**
 * Decode operator: one frame of native pixel data → modality values (Modality LUT applied) as float32.
 *
 * Layout of `values`: planar — all of sample 0 row-major, then sample 1, … (rows × columns per sample). Planar
 * is what the CHW model tensor needs, so colour-by-pixel input is de-interleaved here once.
 */

export interface DecodedFrame {
  ok: true;
  values: Float32Array;
  rows: number;
  columns: number;
  samples: number;
  /** MONOCHROME1: low values are bright. Values are kept as stored; preprocessing flips after windowing. */
  invert: boolean;
  /**
   * Modality values the stored bits can represent ([min, max] after rescale). Lets preprocessing invert
   * MONOCHROME1 images that have no window, the same way a display would (min + max − v).
   */
  valueRange: readonly [number, number];
}

export type DecodeResult = DecodedFrame | { ok: false; reason: ImageExclusionReason };

const fail = (reason: ImageExclusionReason): DecodeResult => ({ ok: false, reason });
const HOST_LITTLE_ENDIAN = endianness() === 'LE';

export function decodeFrame(image: DicomImage, frame = 0): DecodeResult {
  if (image.encapsulated) return fail('unsupported-transfer-syntax');
  const { rows, columns, samplesPerPixel: samples, bitsAllocated, bitsStored, highBit } = image;
  const photometric = image.photometric;
  const mono = photometric === 'MONOCHROME1' || photometric === 'MONOCHROME2';
  if (!((mono && samples === 1) || (photometric === 'RGB' && samples === 3))) {
    return fail('unsupported-pixel-format');
  }
  if (bitsAllocated !== 8 && bitsAllocated !== 16) return fail('unsupported-pixel-format');
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    return fail('unsupported-pixel-format');
  }
  if (!Number.isInteger(frame) || frame < 0 || frame >= image.frames) return fail('decode-error');

  const plane = rows * columns;
  const count = plane * samples;
  const bytesPerSample = bitsAllocated / 8;
  const frameOffset = frame * count * bytesPerSample;
  if (image.pixelData.length < frameOffset + count * bytesPerSample) return fail('truncated');

  const raw = rawSamples(image, frameOffset, count);

  const shift = highBit + 1 - bitsStored;
  const mask = (1 << bitsStored) - 1;
  const signBit = 2 ** (bitsStored - 1);
  const wrap = 2 ** bitsStored;
  const signed = image.pixelRepresentation === 1;
  // The Modality LUT (rescale) is defined for grayscale only; colour samples are used as stored.
  const slope = mono ? image.rescaleSlope : 1;
  const intercept = mono ? image.rescaleIntercept : 0;

  const values = new Float32Array(count);
  // Colour-by-pixel: sample s of pixel p is at p * samples + s; colour-by-plane is already planar.
  const interleaved = samples > 1 && image.planarConfiguration === 0;
  for (let i = 0; i < count; i++) {
    // Bits above the stored range may hold overlays or garbage: shift + mask drop them, then sign-extend.
    let v = (raw[i]! >>> shift) & mask;
    if (signed && v >= signBit) v -= wrap;
    const target = interleaved ? (i % samples) * plane + Math.floor(i / samples) : i;
    values[target] = v * slope + intercept;
  }

  const lo = signed ? -signBit : 0;
  const hi = signed ? signBit - 1 : mask;
  const a = lo * slope + intercept;
  const b = hi * slope + intercept;
  return {
    ok: true,
    values,
    rows,
    columns,
    samples,
    invert: photometric === 'MONOCHROME1',
    valueRange: [Math.min(a, b), Math.max(a, b)],
  };
}

/** Unsigned stored words of one frame, in file order, without copying when the bytes can be viewed directly. */
function rawSamples(image: DicomImage, offset: number, count: number): Uint8Array | Uint16Array {
  const bytes = image.pixelData;
  if (image.bitsAllocated === 8) {
    // Explicit VR Big Endian stores 8-bit data declared OW as byte-swapped 16-bit words (PS3.5 A.3).
    if (!image.littleEndian && image.pixelDataVr === 'OW') {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) out[i] = bytes[(offset + i) ^ 1]!;
      return out;
    }
    return bytes.subarray(offset, offset + count);
  }
  const start = bytes.byteOffset + offset;
  if (image.littleEndian === HOST_LITTLE_ENDIAN && start % 2 === 0) {
    return new Uint16Array(bytes.buffer, start, count);
  }
  const out = new Uint16Array(count);
  const view = new DataView(bytes.buffer, start, count * 2);
  for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, image.littleEndian);
  return out;
}
