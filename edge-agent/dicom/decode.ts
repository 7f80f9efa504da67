import { endianness } from 'node:os';
import { decodeCompressedFrame, FrameRefused } from './codecs.ts';
import type { DicomImage, ImageExclusionReason } from './parse.ts';

/**
 * Decode operator: one frame of pixel data (native or encapsulated) → modality values as float32.
 *
 * Steps, in order: stored words (codec for encapsulated data) → drop bits outside BitsStored and sign-extend →
 * Pixel Padding → Modality LUT (rescale; per-frame functional groups first) for grayscale → YCbCr to RGB for
 * colour. Colour samples are used as stored (no rescale).
 *
 * Layout of `values`: planar — all of sample 0 row-major, then sample 1, … (rows × columns per sample). Planar
 * is what the CHW model tensor needs, so colour-by-pixel input is de-interleaved here once.
 *
 * Pixel Padding (0028,0120/0121): padded pixels lie outside the imaged area. They are set to the value that
 * displays black — the lowest modality value the stored bits can represent for MONOCHROME2, the highest for
 * MONOCHROME1 — so windowing maps them to 0 like air, whatever the padding value was.
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

const COLOUR = new Set(['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_ICT', 'YBR_RCT']);

/**
 * One frame's stored words and everything needed to turn a word into a modality value — the first half of
 * `decodeFrame`, shared with the pipeline's fused decode-to-tensor path (`pipeline/tensor.ts`), so both apply
 * the very same bit masking, sign extension, padding and rescale.
 */
export interface StoredFrame {
  ok: true;
  /** Stored words in file order (interleaved for colour-by-pixel unless `planar`). */
  raw: Uint8Array | Uint16Array;
  planar: boolean;
  /** Colour samples that are still YCbCr (YBR_FULL / _422 uncompressed, RLE). */
  ybr: boolean;
  rows: number;
  columns: number;
  samples: number;
  bitsStored: number;
  /** word → `(word >>> shift) & mask`, then sign-extended when `signed`. */
  shift: number;
  mask: number;
  signed: boolean;
  slope: number;
  intercept: number;
  /** Stored values in [padLo, padHi] are Pixel Padding and become `black` (empty range when none). */
  padLo: number;
  padHi: number;
  black: number;
  invert: boolean;
  valueRange: readonly [number, number];
}

export type StoredFrameResult = StoredFrame | { ok: false; reason: ImageExclusionReason };

export function storedFrame(image: DicomImage, frame = 0): StoredFrameResult {
  const refused = formatRefusal(image, frame);
  if (refused) return failStored(refused);
  const words = frameWords(image, frame);
  if (typeof words === 'string') return failStored(words);
  const { rows, columns, samplesPerPixel: samples, bitsStored, photometric } = image;
  return {
    ok: true,
    ...words,
    rows,
    columns,
    samples,
    bitsStored,
    ...valueMapping(image, frame),
    invert: photometric === 'MONOCHROME1',
  };
}

const isMono = (image: DicomImage) =>
  image.photometric === 'MONOCHROME1' || image.photometric === 'MONOCHROME2';

/** Why this frame of this image cannot be decoded at all, from its header alone. */
function formatRefusal(image: DicomImage, frame: number): ImageExclusionReason | undefined {
  const { samplesPerPixel: samples, bitsAllocated, bitsStored, highBit, photometric } = image;
  if (!((isMono(image) && samples === 1) || (COLOUR.has(photometric) && samples === 3)))
    return 'unsupported-pixel-format';
  // The JPEG 2000 colour transforms only exist inside a JPEG 2000 codestream.
  if ((photometric === 'YBR_ICT' || photometric === 'YBR_RCT') && image.codec !== 'jpeg2000')
    return 'unsupported-pixel-format';
  if (bitsAllocated !== 8 && bitsAllocated !== 16) return 'unsupported-pixel-format';
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated)
    return 'unsupported-pixel-format';
  if (!Number.isInteger(frame) || frame < 0 || frame >= image.frames) return 'decode-error';
  return undefined;
}

/** The frame's stored words (through the codec for encapsulated data) and how to read them. */
function frameWords(
  image: DicomImage,
  frame: number,
): Pick<StoredFrame, 'raw' | 'planar' | 'ybr' | 'shift'> | ImageExclusionReason {
  const { rows, columns, samplesPerPixel: samples, bitsAllocated, bitsStored, highBit, photometric } = image;
  const plane = rows * columns;
  const count = plane * samples;
  /** The colour space of `raw` after the codec: codecs hand YCbCr JPEG and JPEG 2000 MCT back as RGB. */
  const ybr = photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422';
  const shift = highBit + 1 - bitsStored;
  if (image.encapsulated) {
    let decoded: ReturnType<typeof decodeCompressedFrame>;
    try {
      decoded = decodeCompressedFrame(image, frame);
    } catch (err) {
      return err instanceof FrameRefused ? err.reason : 'decode-error';
    }
    const { bytes, planar } = decoded;
    const raw = bitsAllocated === 8 ? bytes.subarray(0, count) : littleEndianWords(bytes, count);
    // Codecs return right-aligned samples: High Bit is BitsStored − 1 for every compressed syntax (PS3.5 8.2).
    return { raw, planar, ybr: ybr && image.codec !== 'jpeg' && image.codec !== 'jpeg2000', shift: 0 };
  }
  if (photometric === 'YBR_FULL_422') {
    if (bitsAllocated !== 8) return 'unsupported-pixel-format';
    const frameBytes = plane * 2;
    if (columns % 2 !== 0) return 'decode-error';
    if (image.pixelData.length < (frame + 1) * frameBytes) return 'truncated';
    const raw = upsample422(image.pixelData.subarray(frame * frameBytes, (frame + 1) * frameBytes), plane);
    return { raw, planar: false, ybr, shift };
  }
  const bytesPerSample = bitsAllocated / 8;
  const frameOffset = frame * count * bytesPerSample;
  if (image.pixelData.length < frameOffset + count * bytesPerSample) return 'truncated';
  return { raw: rawSamples(image, frameOffset, count), planar: image.planarConfiguration === 1, ybr, shift };
}

/** Stored word → modality value: bit mask, sign, rescale (grayscale only), padding and the value range. */
function valueMapping(
  image: DicomImage,
  frame: number,
): Pick<StoredFrame, 'mask' | 'signed' | 'slope' | 'intercept' | 'padLo' | 'padHi' | 'black' | 'valueRange'> {
  const { bitsStored, photometric } = image;
  const mono = isMono(image);
  const mask = bitsStored >= 32 ? 0xffffffff : (1 << bitsStored) - 1;
  const signBit = 2 ** (bitsStored - 1);
  const signed = image.pixelRepresentation === 1;
  // The Modality LUT (rescale) is defined for grayscale only; colour samples are used as stored.
  const rescale = image.frameRescale?.[frame] ?? {
    slope: image.rescaleSlope,
    intercept: image.rescaleIntercept,
  };
  const slope = mono ? rescale.slope : 1;
  const intercept = mono ? rescale.intercept : 0;
  const lo = signed ? -signBit : 0;
  const hi = signed ? signBit - 1 : mask;
  const a = lo * slope + intercept;
  const b = hi * slope + intercept;
  const valueRange: [number, number] = [Math.min(a, b), Math.max(a, b)];
  const padding = mono ? image.pixelPadding : undefined;
  const padLo = padding ? Math.min(padding.value, padding.limit ?? padding.value) : 0;
  const padHi = padding ? Math.max(padding.value, padding.limit ?? padding.value) : -1;
  const black = photometric === 'MONOCHROME1' ? valueRange[1] : valueRange[0];
  return { mask, signed, slope, intercept, padLo, padHi, black, valueRange };
}

const failStored = (reason: ImageExclusionReason): StoredFrameResult => ({ ok: false, reason });

export function decodeFrame(image: DicomImage, frame = 0): DecodeResult {
  const s = storedFrame(image, frame);
  if (!s.ok) return fail(s.reason);
  const { raw, rows, columns, samples, shift, mask, signed, slope, intercept, padLo, padHi, black } = s;
  const plane = rows * columns;
  const count = plane * samples;
  const signBit = 2 ** (s.bitsStored - 1);
  const wrap = 2 ** s.bitsStored;

  const values = new Float32Array(count);
  // Colour-by-pixel: sample s of pixel p is at p * samples + s; colour-by-plane is already planar.
  const interleaved = samples > 1 && !s.planar;
  for (let i = 0; i < count; i++) {
    // Bits above the stored range may hold overlays or garbage: shift + mask drop them, then sign-extend.
    let v = (raw[i]! >>> shift) & mask;
    if (signed && v >= signBit) v -= wrap;
    const target = interleaved ? (i % samples) * plane + Math.floor(i / samples) : i;
    values[target] = v >= padLo && v <= padHi ? black : v * slope + intercept;
  }
  if (s.ybr) ybrFullToRgb(values, plane, s.bitsStored);

  return {
    ok: true,
    values,
    rows,
    columns,
    samples,
    invert: s.invert,
    valueRange: s.valueRange,
  };
}

/** YBR_FULL → RGB in place on planar values (PS3.3 C.7.6.3.1.2, ITU-R BT.601 full range), clamped. */
function ybrFullToRgb(values: Float32Array, plane: number, bits: number): void {
  const mid = 2 ** (bits - 1);
  const max = 2 ** bits - 1;
  const clamp = (x: number) => Math.max(0, Math.min(x, max));
  for (let i = 0; i < plane; i++) {
    const y = values[i]!;
    const cb = values[plane + i]! - mid;
    const cr = values[2 * plane + i]! - mid;
    values[i] = clamp(y + 1.402 * cr);
    values[plane + i] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    values[2 * plane + i] = clamp(y + 1.772 * cb);
  }
}

/** Native YBR_FULL_422 (Y0 Y1 Cb Cr per pixel pair) → interleaved YBR_FULL (Y Cb Cr per pixel). */
function upsample422(src: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, s = 0; p < pixels; p += 2, s += 4) {
    const cb = src[s + 2]!;
    const cr = src[s + 3]!;
    out[p * 3] = src[s]!;
    out[p * 3 + 1] = cb;
    out[p * 3 + 2] = cr;
    out[p * 3 + 3] = src[s + 1]!;
    out[p * 3 + 4] = cb;
    out[p * 3 + 5] = cr;
  }
  return out;
}

function littleEndianWords(bytes: Uint8Array, count: number): Uint16Array {
  if (HOST_LITTLE_ENDIAN && bytes.byteOffset % 2 === 0)
    return new Uint16Array(bytes.buffer, bytes.byteOffset, count);
  const out = new Uint16Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
  for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, true);
  return out;
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
