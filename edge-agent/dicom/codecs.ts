import imaging from 'dcmjs-imaging';
import { declaredFrameBytes, MAX_EXPANDED_BYTES } from './limits.ts';
import type { DicomImage, ImageExclusionReason } from './parse.ts';

/**
 * Compressed-frame decoding through dcmjs-imaging's WebAssembly codecs (libjpeg-turbo / IJG for JPEG
 * baseline, extended and lossless; CharLS for JPEG-LS; OpenJPEG for JPEG 2000 and HTJ2K; its own RLE). The
 * module is loaded once per thread (`initCodecs`), after which decoding is synchronous.
 *
 * dcmjs-imaging's typings only describe rendering; its `NativePixelDecoder` also has static per-codec methods
 * that take a "pixel" description (the getters below) and one frame's bitstream and return the decoded bytes.
 * That is the whole surface used here, so it is typed locally.
 */

interface PixelDescription {
  getWidth(): number;
  getHeight(): number;
  getBitsAllocated(): number;
  getBitsStored(): number;
  getSamplesPerPixel(): number;
  getPixelRepresentation(): number;
  getPlanarConfiguration(): number;
  getPhotometricInterpretation(): string;
}

type DecodeFn = (
  pixel: PixelDescription,
  encoded: Uint8Array,
  params?: { convertColorspaceToRgb?: boolean },
) => Uint8Array;

interface NativeDecoder {
  initializeAsync(opts?: { logNativeDecodersMessages?: boolean }): Promise<void>;
  isInitialized(): boolean;
  decodeRle: DecodeFn;
  decodeJpeg: DecodeFn;
  decodeJpegLs: DecodeFn;
  decodeJpeg2000: DecodeFn;
}

const decoder = (imaging as unknown as { NativePixelDecoder: NativeDecoder }).NativePixelDecoder;

let ready: Promise<void> | undefined;

/** Loads the WebAssembly codecs (idempotent; one instance per thread). */
export function initCodecs(): Promise<void> {
  ready ??= decoder.initializeAsync({ logNativeDecodersMessages: false });
  return ready;
}

export const codecsReady = (): boolean => decoder.isInitialized();

/**
 * Decodes one frame. Output, in the host's (little-endian) byte order with BitsAllocated-sized samples, and
 * `planar` saying how colour samples are arranged (checked against dcmtk/GDCM in codecs.test.ts):
 * - RLE: colour-by-plane (each segment is one sample plane; the decoder is always asked for planes — its
 *   planar flag is inverted relative to DICOM's, so the file's value is not passed through);
 * - JPEG-LS: as the codestream's scan is interleaved — by plane when each component has its own scan
 *   (ILV 0, what GDCM writes for colour-by-plane input), by pixel otherwise;
 * - JPEG family and JPEG 2000: colour-by-pixel; YCbCr JPEG is converted to RGB by the codec, and JPEG 2000's
 *   multi-component transform (YBR_ICT / YBR_RCT) is inverted by it, so both come out as RGB.
 * Throws on a corrupt bitstream (the message describes the codec, never the file), and FrameRefused when the
 * declared frame is over MAX_EXPANDED_BYTES, the bitstream's own header declares another size than the DICOM
 * header (checked before decoding: the decoders size their output from it), or the output is not exactly the
 * declared size.
 */
export function decodeCompressedFrame(
  image: DicomImage,
  frame: number,
): { bytes: Uint8Array; planar: boolean } {
  if (!decoder.isInitialized()) throw new Error('codecs: not initialised (call initCodecs first)');
  const fragments = image.frameFragments?.[frame];
  if (!fragments || fragments.length === 0) throw new Error('codecs: no such frame');
  const frameBytes = declaredFrameBytes(
    image.rows,
    image.columns,
    image.samplesPerPixel,
    image.bitsAllocated,
  );
  if (frameBytes > MAX_EXPANDED_BYTES) throw new FrameRefused('decompression-bomb');
  const encoded = fragments.length === 1 ? fragments[0]! : concat(fragments);
  const own = codestreamSize(image.codec, encoded, image.bitsAllocated / 8);
  if (
    own &&
    (own.samples !== image.samplesPerPixel ||
      (own.rows !== undefined && own.rows !== image.rows) ||
      (!Number.isNaN(own.columns) && own.columns !== image.columns) ||
      (own.planeBytes !== undefined && !planeFits(own.planeBytes, image.rows * image.columns)))
  )
    throw new FrameRefused('pixel-data-size-mismatch');
  const decoded = decodeWith(image, encoded);
  // What came out must be exactly the declared frame: more is a bomb the header hid, less a corrupt stream.
  if (decoded.bytes.length !== frameBytes) throw new FrameRefused('pixel-data-size-mismatch');
  return decoded;
}

/** An RLE segment may decode to one pad byte past its plane (segments are padded to even length). */
const planeFits = (decoded: number, plane: number) => decoded === plane || decoded === plane + 1;

/** A frame refused by its size, before or after decoding; `reason` is what the file is excluded as. */
export class FrameRefused extends Error {
  constructor(readonly reason: ImageExclusionReason) {
    super(`codecs: frame refused (${reason})`);
  }
}

function decodeWith(image: DicomImage, encoded: Uint8Array): { bytes: Uint8Array; planar: boolean } {
  const pixel: PixelDescription = {
    getWidth: () => image.columns,
    getHeight: () => image.rows,
    getBitsAllocated: () => image.bitsAllocated,
    getBitsStored: () => image.bitsStored,
    getSamplesPerPixel: () => image.samplesPerPixel,
    getPixelRepresentation: () => image.pixelRepresentation,
    getPlanarConfiguration: () => 0,
    getPhotometricInterpretation: () => image.photometric,
  };
  switch (image.codec) {
    case 'rle':
      return { bytes: decoder.decodeRle(pixel, encoded), planar: true };
    case 'jpeg':
      return { bytes: decoder.decodeJpeg(pixel, encoded, { convertColorspaceToRgb: true }), planar: false };
    case 'jpeg-ls':
      return { bytes: decoder.decodeJpegLs(pixel, encoded), planar: jpegLsScanIsPlanar(encoded) };
    case 'jpeg2000':
      return { bytes: decoder.decodeJpeg2000(pixel, encoded), planar: false };
    default:
      throw new Error('codecs: not an encapsulated image');
  }
}

/** Walks the JPEG-LS marker segments to the first Start of Scan: one component per scan, or ILV 0, is planar. */
export function jpegLsScanIsPlanar(bytes: Uint8Array): boolean {
  let p = 2; // after SOI
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return false;
    const marker = bytes[p + 1]!;
    const length = (bytes[p + 2]! << 8) | bytes[p + 3]!;
    if (marker === 0xda) {
      const ns = bytes[p + 4]!;
      const ilv = bytes[p + 4 + 1 + 2 * ns + 1];
      return ns === 1 || ilv === 0;
    }
    p += 2 + length;
  }
  return false;
}

/** The image size a frame's own bitstream declares, read before decoding (undefined when it does not say). */
export interface CodestreamSize {
  rows?: number;
  columns: number;
  samples: number;
  /** RLE: the bytes every segment decodes to (rows × columns, maybe + 1 pad byte); undefined if they differ. */
  planeBytes?: number;
}

/**
 * RLE (PS3.5 G.3): how many bytes the PackBits segments decode to, counted without decoding. Undefined when
 * the segments disagree; the DICOM header must then match it (one segment is one byte plane of the frame).
 */
function rlePlaneBytes(bytes: Uint8Array, view: DataView, segments: number): number | undefined {
  let common: number | undefined;
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : bytes.length;
    let out = 0;
    for (let p = start; p < Math.min(end, bytes.length); ) {
      const n = (bytes[p]! << 24) >> 24;
      if (n >= 0) {
        out += n + 1;
        p += n + 2;
      } else if (n !== -128) {
        out += 1 - n;
        p += 2;
      } else p++;
    }
    if (common !== undefined && common !== out) return undefined;
    common = out;
  }
  return common;
}

const SOF_MARKERS = new Set([
  0xc0,
  0xc1,
  0xc2,
  0xc3,
  0xc5,
  0xc6,
  0xc7,
  0xc9,
  0xca,
  0xcb,
  0xcd,
  0xce,
  0xcf,
  0xf7, // JPEG-LS SOF55
]);

/**
 * JPEG / JPEG-LS: the first Start of Frame segment (height, width, components); JPEG 2000: the SIZ segment
 * after SOC (image area minus offset, components). The decoders size their output from these, so they are
 * compared with the DICOM header before any decoding. RLE: the segment count its header states, as samples.
 */
export function codestreamSize(
  codec: DicomImage['codec'],
  bytes: Uint8Array,
  bytesPerSample: number,
): CodestreamSize | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (codec === 'rle') {
    if (bytes.length < 64) return undefined;
    const segments = view.getUint32(0, true);
    if (segments < 1 || segments > 15) return undefined;
    const plane = rlePlaneBytes(bytes, view, segments);
    return {
      columns: Number.NaN,
      samples: segments / bytesPerSample,
      ...(plane ? { planeBytes: plane } : {}),
    };
  }
  if (codec === 'jpeg' || codec === 'jpeg-ls') {
    let p = 2; // after SOI
    while (p + 4 <= bytes.length) {
      if (bytes[p] !== 0xff) return undefined;
      const marker = bytes[p + 1]!;
      if (marker === 0xff) {
        p++; // fill byte
        continue;
      }
      if (marker === 0xda) return undefined; // Start of Scan before any frame header
      const length = view.getUint16(p + 2);
      if (SOF_MARKERS.has(marker) && p + 10 <= bytes.length) {
        const rows = view.getUint16(p + 5);
        return { ...(rows > 0 ? { rows } : {}), columns: view.getUint16(p + 7), samples: bytes[p + 9]! };
      }
      p += 2 + length;
    }
    return undefined;
  }
  if (codec === 'jpeg2000') {
    const limit = Math.min(bytes.length - 42, 64 * 1024);
    for (let p = 0; p <= limit; p++) {
      if (bytes[p] !== 0xff || bytes[p + 1] !== 0x4f || bytes[p + 2] !== 0xff || bytes[p + 3] !== 0x51)
        continue;
      const siz = p + 4; // Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz
      const width = view.getUint32(siz + 4) - view.getUint32(siz + 12);
      const height = view.getUint32(siz + 8) - view.getUint32(siz + 16);
      return { rows: height, columns: width, samples: view.getUint16(siz + 36) };
    }
    return undefined;
  }
  return undefined;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
