import { inflateRawSync } from 'node:zlib';
import dicomParser, { type DataSet } from 'dicom-parser';
import type { IMAGE_EXCLUSION_REASONS } from '../../schemas/exclusion-reasons.ts';

/**
 * Parse operator: bytes of one file → the header fields the pipeline needs plus a zero-copy view of the pixel
 * data, or one closed exclusion reason.
 *
 * PHI rule: nothing read from the file (and no file name) ever appears in a thrown error or a log line; this
 * function does not throw at all, and only the reason enum leaves it on failure.
 */

export type ImageExclusionReason = (typeof IMAGE_EXCLUSION_REASONS)[number];

export const TRANSFER_SYNTAX = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflatedExplicitLittle: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
} as const;

/** Native (uncompressed) syntaxes this build decodes; compressed ones are a later issue. */
export const SUPPORTED_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set(Object.values(TRANSFER_SYNTAX));

export interface DicomImage {
  sopInstanceUid: string;
  studyInstanceUid: string;
  /** Empty when the file has none; selection does not need it yet. */
  seriesInstanceUid: string;
  /** Upper-cased, trimmed; empty when absent (selection then rejects it). */
  modality: string;
  bodyPart?: string;
  manufacturer?: string;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  /** 0 = colour-by-pixel (RGBRGB…), 1 = colour-by-plane (RR…GG…BB…). */
  planarConfiguration: 0 | 1;
  photometric: string;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: 0 | 1;
  rescaleSlope: number;
  rescaleIntercept: number;
  transferSyntaxUid: string;
  littleEndian: boolean;
  /** View into the file's (or, for deflate, the inflated) buffer — never a copy. */
  pixelData: Uint8Array;
  /** 'OB' | 'OW' when the file states it (explicit VR); needed for the big-endian byte order of 8-bit data. */
  pixelDataVr?: string;
  encapsulated: boolean;
}

export type ParseResult = { ok: true; image: DicomImage } | { ok: false; reason: ImageExclusionReason };

const fail = (reason: ImageExclusionReason): ParseResult => ({ ok: false, reason });

const TAG = {
  metaGroupLength: 'x00020000',
  transferSyntax: 'x00020010',
  sopInstanceUid: 'x00080018',
  studyInstanceUid: 'x0020000d',
  seriesInstanceUid: 'x0020000e',
  modality: 'x00080060',
  manufacturer: 'x00080070',
  bodyPart: 'x00180015',
  samplesPerPixel: 'x00280002',
  photometric: 'x00280004',
  planarConfiguration: 'x00280006',
  frames: 'x00280008',
  rows: 'x00280010',
  columns: 'x00280011',
  bitsAllocated: 'x00280100',
  bitsStored: 'x00280101',
  highBit: 'x00280102',
  pixelRepresentation: 'x00280103',
  rescaleIntercept: 'x00281052',
  rescaleSlope: 'x00281053',
  pixelData: 'x7fe00010',
} as const;

/** dicom-parser reports running off the end of the buffer with these phrases (its errors are plain strings). */
const TRUNCATION =
  /past end of buffer|buffer overread|buffer overrun|eof encountered|unexpected end of file/i;

/** Inflated data sets larger than this are treated as unreadable rather than risking a decompression bomb. */
const MAX_INFLATED_BYTES = 2 ** 31 - 1;

function hasPreamble(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 132 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d
  );
}

const KNOWN_VRS = new Set(
  'AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(
    ' ',
  ),
);

/**
 * Files without the Part 10 preamble are still DICOM when they start with a plausible data set (old exporters
 * write bare data sets). Guessing is only allowed when the first tag is a low standard group, so arbitrary
 * bytes are not mistaken for an implicit-VR data set. Returns the syntax to try, or undefined for 'not-dicom'.
 */
function guessBareDataSetSyntax(bytes: Uint8Array): string | undefined {
  if (bytes.length < 8) return undefined;
  const group = bytes[0]! | (bytes[1]! << 8);
  if (group !== 0x0008 && group !== 0x0002) return undefined;
  const vr = String.fromCharCode(bytes[4]!, bytes[5]!);
  return KNOWN_VRS.has(vr) ? TRANSFER_SYNTAX.explicitLittle : TRANSFER_SYNTAX.implicitLittle;
}

function classifyThrown(thrown: unknown): ImageExclusionReason {
  const inner =
    typeof thrown === 'object' && thrown !== null && 'exception' in thrown ? thrown.exception : thrown;
  const text = inner instanceof Error ? inner.message : String(inner);
  return TRUNCATION.test(text) ? 'truncated' : 'unreadable';
}

function inflate(bytes: Uint8Array, position: number): Uint8Array {
  const body = inflateRawSync(bytes.subarray(position), { maxOutputLength: MAX_INFLATED_BYTES });
  const full = new Uint8Array(position + body.length);
  full.set(bytes.subarray(0, position), 0);
  full.set(body, position);
  return full;
}

/** dicom-parser does not notice when the last element of a data set (or of the meta group) runs past the end. */
function elementsFit(dataSet: DataSet, available: number): boolean {
  for (const element of Object.values(dataSet.elements)) {
    if (element.hadUndefinedLength || element.encapsulatedPixelData) continue;
    if (element.dataOffset + element.length > available) return false;
  }
  return true;
}

function positiveInt(value: number | undefined): number | undefined {
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : undefined;
}

export function parseDicom(bytes: Uint8Array): ParseResult {
  try {
    return parseUnchecked(bytes);
  } catch {
    // Anything unexpected (a bug here or in dicom-parser) must still end as one reason, never as a message.
    return fail('unreadable');
  }
}

function parseUnchecked(bytes: Uint8Array): ParseResult {
  let transferSyntaxUid: string;
  let dataSet: DataSet;
  if (hasPreamble(bytes)) {
    let meta: DataSet;
    try {
      meta = dicomParser.readPart10Header(bytes) as DataSet;
    } catch (thrown) {
      return fail(classifyThrown(thrown));
    }
    if (!elementsFit(meta, bytes.length)) return fail('truncated');
    // A file that ends inside, or right after, the meta group has no data set: it was cut short.
    const metaEnd = (meta as DataSet & { position?: number }).position ?? 0;
    const groupLength = meta.uint32(TAG.metaGroupLength);
    if (metaEnd >= bytes.length || (groupLength !== undefined && bytes.length <= 144 + groupLength)) {
      return fail('truncated');
    }
    const ts = meta.string(TAG.transferSyntax);
    if (ts === undefined) return fail('unreadable');
    // Gate on the syntax before parsing the body: an unsupported encoding may not even parse.
    if (!SUPPORTED_TRANSFER_SYNTAXES.has(ts)) return fail('unsupported-transfer-syntax');
    transferSyntaxUid = ts;
    try {
      dataSet = dicomParser.parseDicom(bytes, { inflater: inflate });
    } catch (thrown) {
      return fail(classifyThrown(thrown));
    }
  } else {
    const guess = guessBareDataSetSyntax(bytes);
    if (guess === undefined) return fail('not-dicom');
    transferSyntaxUid = guess;
    try {
      dataSet = dicomParser.parseDicom(bytes, { TransferSyntaxUID: guess });
    } catch {
      return fail('not-dicom');
    }
  }

  const byteArray = dataSet.byteArray;
  if (!elementsFit(dataSet, byteArray.length)) return fail('truncated');
  if (dataSet.warnings.some((w) => TRUNCATION.test(w))) return fail('truncated');

  const sopInstanceUid = dataSet.string(TAG.sopInstanceUid);
  const studyInstanceUid = dataSet.string(TAG.studyInstanceUid);
  if (!sopInstanceUid || !studyInstanceUid) return fail('missing-uid');

  const pixelElement = dataSet.elements[TAG.pixelData];
  if (pixelElement === undefined || pixelElement.length === 0) return fail('no-pixel-data');
  const encapsulated = pixelElement.encapsulatedPixelData === true;
  // Native syntaxes must carry native pixel data; a fragment sequence here contradicts the header.
  if (encapsulated || pixelElement.hadUndefinedLength) return fail('decode-error');

  const rows = positiveInt(dataSet.uint16(TAG.rows));
  const columns = positiveInt(dataSet.uint16(TAG.columns));
  const bitsAllocated = positiveInt(dataSet.uint16(TAG.bitsAllocated));
  if (rows === undefined || columns === undefined || bitsAllocated === undefined) return fail('decode-error');
  const samplesPerPixel = dataSet.elements[TAG.samplesPerPixel] ? dataSet.uint16(TAG.samplesPerPixel) : 1;
  const bitsStored = dataSet.elements[TAG.bitsStored] ? dataSet.uint16(TAG.bitsStored) : bitsAllocated;
  const highBit = dataSet.elements[TAG.highBit] ? dataSet.uint16(TAG.highBit) : (bitsStored ?? 0) - 1;
  const pixelRepresentation = dataSet.uint16(TAG.pixelRepresentation) ?? 0;
  const planarConfiguration = dataSet.uint16(TAG.planarConfiguration) ?? 0;
  const framesText = dataSet.string(TAG.frames);
  const frames = framesText === undefined || framesText === '' ? 1 : positiveInt(Number(framesText));
  if (
    positiveInt(samplesPerPixel) === undefined ||
    positiveInt(bitsStored) === undefined ||
    highBit === undefined ||
    frames === undefined ||
    (pixelRepresentation !== 0 && pixelRepresentation !== 1) ||
    (planarConfiguration !== 0 && planarConfiguration !== 1)
  ) {
    return fail('decode-error');
  }

  const slope = dataSet.elements[TAG.rescaleSlope] ? dataSet.floatString(TAG.rescaleSlope) : 1;
  const intercept = dataSet.elements[TAG.rescaleIntercept] ? dataSet.floatString(TAG.rescaleIntercept) : 0;
  if (
    slope === undefined ||
    intercept === undefined ||
    !Number.isFinite(slope) ||
    !Number.isFinite(intercept)
  ) {
    return fail('decode-error');
  }

  const expectedBytes = Math.ceil((rows * columns * frames * samplesPerPixel! * bitsAllocated) / 8);
  if (pixelElement.length < expectedBytes) return fail('truncated');

  const pixelData = new Uint8Array(
    byteArray.buffer,
    byteArray.byteOffset + pixelElement.dataOffset,
    pixelElement.length,
  );

  const image: DicomImage = {
    sopInstanceUid,
    studyInstanceUid,
    seriesInstanceUid: dataSet.string(TAG.seriesInstanceUid) ?? '',
    modality: (dataSet.string(TAG.modality) ?? '').toUpperCase(),
    rows,
    columns,
    frames,
    samplesPerPixel: samplesPerPixel!,
    planarConfiguration,
    photometric: (dataSet.string(TAG.photometric) ?? '').toUpperCase(),
    bitsAllocated,
    bitsStored: bitsStored!,
    highBit,
    pixelRepresentation,
    rescaleSlope: slope,
    rescaleIntercept: intercept,
    transferSyntaxUid,
    littleEndian: transferSyntaxUid !== TRANSFER_SYNTAX.explicitBig,
    pixelData,
    encapsulated,
  };
  const bodyPart = dataSet.string(TAG.bodyPart);
  if (bodyPart) image.bodyPart = bodyPart.toUpperCase();
  const manufacturer = dataSet.string(TAG.manufacturer);
  if (manufacturer) image.manufacturer = manufacturer;
  if (pixelElement.vr) image.pixelDataVr = pixelElement.vr;
  return { ok: true, image };
}
