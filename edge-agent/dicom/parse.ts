import dicomParser, { type DataSet } from 'dicom-parser';
import type { IMAGE_EXCLUSION_REASONS } from '../../schemas/exclusion-reasons.ts';
import { dicomAgeStringYears, normaliseSex } from '../report/attributes.ts';
import { InflationRefused, inflateDataSet, inflateHeader } from './inflate.ts';

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

/** Pixel codecs for encapsulated syntaxes (decode.ts maps each to a WASM decoder). */
export type PixelCodec = 'rle' | 'jpeg' | 'jpeg-ls' | 'jpeg2000';

/**
 * Encapsulated (compressed) syntaxes this build decodes, by codec. JPEG 2000 part 15 (HTJ2K) goes through the
 * same OpenJPEG decoder as part 1. MPEG/HEVC video and JPEG XL are not listed: they end as
 * 'unsupported-transfer-syntax'.
 */
export const ENCAPSULATED_TRANSFER_SYNTAXES: ReadonlyMap<string, PixelCodec> = new Map([
  ['1.2.840.10008.1.2.5', 'rle'],
  ['1.2.840.10008.1.2.4.50', 'jpeg'], // baseline (process 1)
  ['1.2.840.10008.1.2.4.51', 'jpeg'], // extended (process 2 & 4, 12-bit)
  ['1.2.840.10008.1.2.4.57', 'jpeg'], // lossless (process 14)
  ['1.2.840.10008.1.2.4.70', 'jpeg'], // lossless SV1
  ['1.2.840.10008.1.2.4.80', 'jpeg-ls'],
  ['1.2.840.10008.1.2.4.81', 'jpeg-ls'], // near-lossless
  ['1.2.840.10008.1.2.4.90', 'jpeg2000'],
  ['1.2.840.10008.1.2.4.91', 'jpeg2000'],
  ['1.2.840.10008.1.2.4.201', 'jpeg2000'], // HTJ2K lossless
  ['1.2.840.10008.1.2.4.202', 'jpeg2000'], // HTJ2K lossless RPCL
  ['1.2.840.10008.1.2.4.203', 'jpeg2000'], // HTJ2K
] as const);

export const SUPPORTED_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set([
  ...Object.values(TRANSFER_SYNTAX),
  ...ENCAPSULATED_TRANSFER_SYNTAXES.keys(),
]);

/** Rescale for one frame, from the Pixel Value Transformation Sequence of an enhanced multi-frame object. */
export interface FrameRescale {
  slope: number;
  intercept: number;
}

export interface DicomImage {
  sopInstanceUid: string;
  studyInstanceUid: string;
  /** Empty when the file has none; selection does not need it yet. */
  seriesInstanceUid: string;
  /** Upper-cased, trimmed; empty when absent (selection then rejects it). */
  modality: string;
  bodyPart?: string;
  manufacturer?: string;
  /** Manufacturer's Model Name (0008,1090). */
  scannerModel?: string;
  /** Image Type (0008,0008) values, upper-cased; empty when absent. */
  imageType: string[];
  /** View Position (0018,5101), upper-cased, e.g. PA, AP, LL. */
  viewPosition?: string;
  /** Patient Sex (0010,0040) when it is one of F, M, O. Leaves the site only as gated subgroup counts. */
  sex?: 'F' | 'M' | 'O';
  /** Age at the study in whole years (Patient Age, else Birth Date vs Study Date); never logged. */
  ageYears?: number;
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
  /** Per-frame rescale (functional groups), one entry per frame, when the object carries it. */
  frameRescale?: FrameRescale[];
  /** Pixel Padding Value (0028,0120) and Range Limit (0028,0121), as stored (signed when pixels are). */
  pixelPadding?: { value: number; limit?: number };
  transferSyntaxUid: string;
  /** The codec for encapsulated pixel data; undefined for native. */
  codec?: PixelCodec;
  /** Encapsulated only: each frame's compressed bitstream, as views of its fragments (in order). */
  frameFragments?: Uint8Array[][];
  littleEndian: boolean;
  /** View into the file's (or, for deflate, the inflated) buffer — never a copy. */
  pixelData: Uint8Array;
  /**
   * Set by parseDicomHeader on a deflated file: only the header was inflated and `pixelData` is empty —
   * parseDicom on the same bytes gives the full image (so a duplicate is found without inflating it).
   */
  pixelsDeferred?: true;
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
  scannerModel: 'x00081090',
  imageType: 'x00080008',
  viewPosition: 'x00185101',
  patientSex: 'x00100040',
  patientAge: 'x00101010',
  patientBirthDate: 'x00100030',
  studyDate: 'x00080020',
  bodyPart: 'x00180015',
  pixelPaddingValue: 'x00280120',
  pixelPaddingRangeLimit: 'x00280121',
  sharedGroups: 'x52009229',
  perFrameGroups: 'x52009230',
  pixelValueTransformation: 'x00289145',
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

/**
 * dicom-parser reads the inflated data set from offset 0 of what this returns, so the inflated body alone is
 * handed back (no copy of the meta group in front of it); see inflate.ts for the bounds.
 */
const inflate = (bytes: Uint8Array, position: number): Uint8Array => inflateDataSet(bytes.subarray(position));
const inflatePrefix = (bytes: Uint8Array, position: number): Uint8Array =>
  inflateHeader(bytes.subarray(position)).prefix;

/**
 * dicom-parser does not notice when the last element of a data set (or of the meta group) runs past the end.
 * `skipMeta`: the meta group's offsets refer to the file, not to an inflated data set (checked on the file);
 * `skipPixels`: a header-only parse has Pixel Data's tag and length but not its value.
 */
function elementsFit(dataSet: DataSet, available: number, skipMeta = false, skipPixels = false): boolean {
  for (const [tag, element] of Object.entries(dataSet.elements)) {
    if (element.hadUndefinedLength || element.encapsulatedPixelData) continue;
    if (skipMeta && tag.startsWith('x0002')) continue;
    if (skipPixels && tag === TAG.pixelData) continue;
    if (element.dataOffset + element.length > available) return false;
  }
  return true;
}

function positiveInt(value: number | undefined): number | undefined {
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : undefined;
}

export function parseDicom(bytes: Uint8Array): ParseResult {
  return parseGuarded(bytes, false);
}

/**
 * The header only: for a deflated file, the data set is inflated up to Pixel Data and the image comes back
 * with `pixelsDeferred` and no pixel data; every other syntax is parsed in full (its pixel data is a view of
 * the file, nothing is expanded). The pipeline claims the SOP Instance UID from this, then calls parseDicom.
 */
export function parseDicomHeader(bytes: Uint8Array): ParseResult {
  return parseGuarded(bytes, true);
}

function parseGuarded(bytes: Uint8Array, headerOnly: boolean): ParseResult {
  try {
    return parseUnchecked(bytes, headerOnly);
  } catch {
    // Anything unexpected (a bug here or in dicom-parser) must still end as one reason, never as a message.
    return fail('unreadable');
  }
}

function parseUnchecked(bytes: Uint8Array, headerOnly: boolean): ParseResult {
  let transferSyntaxUid: string;
  let dataSet: DataSet;
  let deferred = false;
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
    deferred = headerOnly && ts === TRANSFER_SYNTAX.deflatedExplicitLittle;
    try {
      dataSet = dicomParser.parseDicom(
        bytes,
        deferred ? { inflater: inflatePrefix, untilTag: TAG.pixelData } : { inflater: inflate },
      );
    } catch (thrown) {
      if (thrown instanceof InflationRefused) return fail('decompression-bomb');
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
  const deflated = transferSyntaxUid === TRANSFER_SYNTAX.deflatedExplicitLittle;
  if (!elementsFit(dataSet, byteArray.length, deflated, deferred)) return fail('truncated');
  if (dataSet.warnings.some((w) => TRUNCATION.test(w))) return fail('truncated');

  const sopInstanceUid = dataSet.string(TAG.sopInstanceUid);
  const studyInstanceUid = dataSet.string(TAG.studyInstanceUid);
  if (!sopInstanceUid || !studyInstanceUid) return fail('missing-uid');

  const pixelElement = dataSet.elements[TAG.pixelData];
  if (pixelElement === undefined || pixelElement.length === 0) return fail('no-pixel-data');
  const encapsulated = pixelElement.encapsulatedPixelData === true;
  const codec = ENCAPSULATED_TRANSFER_SYNTAXES.get(transferSyntaxUid);
  // Native syntaxes must carry native pixel data, encapsulated ones a fragment sequence; anything else
  // contradicts the header.
  if (codec === undefined && (encapsulated || pixelElement.hadUndefinedLength)) return fail('decode-error');
  if (codec !== undefined && !encapsulated) return fail('decode-error');

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

  const photometric = (dataSet.string(TAG.photometric) ?? '').toUpperCase();
  let frameFragments: Uint8Array[][] | undefined;
  let pixelData: Uint8Array;
  if (codec === undefined) {
    // YBR_FULL_422 native: two luma samples share one Cb and one Cr (PS3.3 C.7.6.3.1.2).
    const perPixel = photometric === 'YBR_FULL_422' ? 2 : samplesPerPixel!;
    const expectedBytes = Math.ceil((rows * columns * frames * perPixel * bitsAllocated) / 8);
    if (pixelElement.length < expectedBytes) return fail('truncated');
    pixelData = deferred
      ? new Uint8Array(0)
      : new Uint8Array(byteArray.buffer, byteArray.byteOffset + pixelElement.dataOffset, pixelElement.length);
  } else {
    const grouped = groupFragments(byteArray, pixelElement, frames, codec);
    if (typeof grouped === 'string') return fail(grouped);
    frameFragments = grouped;
    pixelData = new Uint8Array(0);
  }

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
    photometric,
    imageType: dataSet.string(TAG.imageType) === undefined ? [] : multiValue(dataSet, TAG.imageType),
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
  if (deferred) image.pixelsDeferred = true;
  if (codec !== undefined) {
    image.codec = codec;
    image.frameFragments = frameFragments!;
  }
  const frameRescale = readFrameRescale(dataSet, frames);
  if (frameRescale) image.frameRescale = frameRescale;
  const padding = readPadding(dataSet, pixelRepresentation);
  if (padding) image.pixelPadding = padding;
  const scannerModel = dataSet.string(TAG.scannerModel);
  if (scannerModel) image.scannerModel = scannerModel;
  const view = dataSet.string(TAG.viewPosition);
  if (view) image.viewPosition = view.toUpperCase();
  const sex = normaliseSex(dataSet.string(TAG.patientSex) ?? '');
  if (sex !== 'unknown') image.sex = sex;
  const age = ageInYears(
    dataSet.string(TAG.patientAge),
    dataSet.string(TAG.patientBirthDate),
    dataSet.string(TAG.studyDate),
  );
  if (age !== undefined) image.ageYears = age;
  const bodyPart = dataSet.string(TAG.bodyPart);
  if (bodyPart) image.bodyPart = bodyPart.toUpperCase();
  const manufacturer = dataSet.string(TAG.manufacturer);
  if (manufacturer) image.manufacturer = manufacturer;
  if (pixelElement.vr) image.pixelDataVr = pixelElement.vr;
  return { ok: true, image };
}

function multiValue(dataSet: DataSet, tag: string): string[] {
  const out: string[] = [];
  const n = dataSet.numStringValues(tag) ?? 0;
  for (let i = 0; i < n; i++) out.push((dataSet.string(tag, i) ?? '').toUpperCase());
  return out;
}

type Element = DataSet['elements'][string];

/** First item's Pixel Value Transformation values inside one functional-groups item, if any. */
function rescaleIn(group: DataSet | undefined): FrameRescale | undefined {
  const item = group?.elements[TAG.pixelValueTransformation]?.items?.[0]?.dataSet;
  if (!item) return undefined;
  const slope = item.elements[TAG.rescaleSlope] ? item.floatString(TAG.rescaleSlope) : 1;
  const intercept = item.elements[TAG.rescaleIntercept] ? item.floatString(TAG.rescaleIntercept) : 0;
  if (slope === undefined || intercept === undefined) return undefined;
  if (!Number.isFinite(slope) || !Number.isFinite(intercept)) return undefined;
  return { slope, intercept };
}

/**
 * Enhanced multi-frame objects (PS3.3 C.7.6.16) carry rescale in the Per-Frame or Shared Functional Groups
 * rather than at the top level; per-frame wins over shared. Undefined when neither has it.
 */
function readFrameRescale(dataSet: DataSet, frames: number): FrameRescale[] | undefined {
  const shared = rescaleIn(dataSet.elements[TAG.sharedGroups]?.items?.[0]?.dataSet);
  const perFrameItems = dataSet.elements[TAG.perFrameGroups]?.items ?? [];
  const perFrame = perFrameItems.map((item) => rescaleIn(item.dataSet));
  if (!shared && !perFrame.some(Boolean)) return undefined;
  const out: FrameRescale[] = [];
  for (let f = 0; f < frames; f++) {
    const r = perFrame[f] ?? shared;
    if (!r) return undefined; // incomplete: fall back to the top-level rescale for all frames
    out.push(r);
  }
  return out;
}

function readPadding(
  dataSet: DataSet,
  pixelRepresentation: 0 | 1,
): { value: number; limit?: number } | undefined {
  const read = (tag: string) => {
    const el: Element | undefined = dataSet.elements[tag];
    if (!el || el.length < 2) return undefined;
    return pixelRepresentation === 1 ? dataSet.int16(tag) : dataSet.uint16(tag);
  };
  const value = read(TAG.pixelPaddingValue);
  if (value === undefined) return undefined;
  const limit = read(TAG.pixelPaddingRangeLimit);
  return limit === undefined ? { value } : { value, limit };
}

function dicomDate(text: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec((text ?? '').trim());
  if (!m) return undefined;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Patient Age (AS, e.g. 045Y, 006M) first; otherwise whole years between Birth Date and Study Date. */
export function ageInYears(age?: string, birth?: string, study?: string): number | undefined {
  const stated = dicomAgeStringYears(age ?? '');
  if (stated !== null) return Math.floor(stated);
  const b = dicomDate(birth);
  const s = dicomDate(study);
  if (!b || !s || s < b) return undefined;
  let years = s.getUTCFullYear() - b.getUTCFullYear();
  if (
    s.getUTCMonth() < b.getUTCMonth() ||
    (s.getUTCMonth() === b.getUTCMonth() && s.getUTCDate() < b.getUTCDate())
  )
    years--;
  return years >= 0 && years < 150 ? years : undefined;
}

function startsFrame(bytes: Uint8Array, codec: PixelCodec): boolean {
  if (bytes.length < 2) return false;
  if (codec === 'jpeg' || codec === 'jpeg-ls') return bytes[0] === 0xff && bytes[1] === 0xd8; // SOI
  if (codec === 'jpeg2000')
    return (bytes[0] === 0xff && bytes[1] === 0x4f) || (bytes.length >= 4 && bytes[3] === 0x0c); // SOC or jp2 box
  return false;
}

/**
 * Splits the fragments of encapsulated pixel data into frames (PS3.5 A.4): one fragment per frame when the
 * counts agree; the Basic Offset Table when it is filled; otherwise, for JPEG-family codecs, a new frame at
 * every fragment that starts a codestream. A single frame takes all fragments.
 */
function groupFragments(
  byteArray: Uint8Array,
  element: Element,
  frames: number,
  codec: PixelCodec,
): Uint8Array[][] | ImageExclusionReason {
  const fragments = (element.fragments ?? []).map((f) => {
    const start = byteArray.byteOffset + f.position;
    if (f.position + f.length > byteArray.length) return undefined;
    return new Uint8Array(byteArray.buffer, start, f.length);
  });
  if (fragments.length === 0) return 'no-pixel-data';
  if (fragments.some((f) => f === undefined)) return 'truncated';
  const views = fragments as Uint8Array[];
  if (frames === 1) return [views];
  if (views.length === frames) return views.map((v) => [v]);
  const bot = element.basicOffsetTable ?? [];
  const offsets = (element.fragments ?? []).map((f) => f.offset);
  if (bot.length === frames) {
    const out: Uint8Array[][] = [];
    for (let i = 0; i < frames; i++) {
      const lo = bot[i]!;
      const hi = i + 1 < frames ? bot[i + 1]! : Number.POSITIVE_INFINITY;
      out.push(views.filter((_, k) => offsets[k]! >= lo && offsets[k]! < hi));
    }
    return out.some((f) => f.length === 0) ? 'decode-error' : out;
  }
  const out: Uint8Array[][] = [];
  for (const v of views) {
    if (out.length === 0 || startsFrame(v, codec)) out.push([v]);
    else out[out.length - 1]!.push(v);
  }
  return out.length === frames ? out : 'decode-error';
}
