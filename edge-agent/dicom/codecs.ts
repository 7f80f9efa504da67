import imaging from 'dcmjs-imaging';
import type { DicomImage } from './parse.ts';

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
 * Throws on a corrupt bitstream (the message describes the codec, never the file).
 */
export function decodeCompressedFrame(
  image: DicomImage,
  frame: number,
): { bytes: Uint8Array; planar: boolean } {
  if (!decoder.isInitialized()) throw new Error('codecs: not initialised (call initCodecs first)');
  const fragments = image.frameFragments?.[frame];
  if (!fragments || fragments.length === 0) throw new Error('codecs: no such frame');
  const encoded = fragments.length === 1 ? fragments[0]! : concat(fragments);
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

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
