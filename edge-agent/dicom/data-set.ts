import dicomParser, { type DataSet } from 'dicom-parser';
import type { ImageExclusionReason } from './image.ts';
import { InflationRefused, inflateDataSet, inflateHeader } from './inflate.ts';
import { SUPPORTED_TRANSFER_SYNTAXES, TRANSFER_SYNTAX } from './syntax.ts';
import { TAG } from './tags.ts';

/** dicom-parser reports running off the end of the buffer with these phrases (its errors are plain strings). */
export const TRUNCATION =
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

export function classifyThrown(thrown: unknown): ImageExclusionReason {
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
export function elementsFit(
  dataSet: DataSet,
  available: number,
  skipMeta = false,
  skipPixels = false,
): boolean {
  for (const [tag, element] of Object.entries(dataSet.elements)) {
    if (element.hadUndefinedLength || element.encapsulatedPixelData) continue;
    if (skipMeta && tag.startsWith('x0002')) continue;
    if (skipPixels && tag === TAG.pixelData) continue;
    if (element.dataOffset + element.length > available) return false;
  }
  return true;
}

export type ReadDataSet =
  | { ok: true; dataSet: DataSet; transferSyntaxUid: string; deferred: boolean }
  | { ok: false; reason: ImageExclusionReason };

/**
 * The file's data set and transfer syntax: a Part 10 file through its meta group (deflated ones inflated —
 * only up to Pixel Data when `headerOnly`, then `deferred`), a bare data set by a guessed syntax. Every way the
 * container can be broken ends as one reason; elements that run past the end are 'truncated'.
 */
export function readDataSet(bytes: Uint8Array, headerOnly: boolean): ReadDataSet {
  const read = hasPreamble(bytes) ? readPart10(bytes, headerOnly) : readBare(bytes);
  if (!read.ok) return read;
  const { dataSet, transferSyntaxUid, deferred } = read;
  const deflated = transferSyntaxUid === TRANSFER_SYNTAX.deflatedExplicitLittle;
  if (!elementsFit(dataSet, dataSet.byteArray.length, deflated, deferred))
    return { ok: false, reason: 'truncated' };
  if (dataSet.warnings.some((w) => TRUNCATION.test(w))) return { ok: false, reason: 'truncated' };
  return read;
}

function readPart10(bytes: Uint8Array, headerOnly: boolean): ReadDataSet {
  const fail = (reason: ImageExclusionReason) => ({ ok: false, reason }) as const;
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
  if (metaEnd >= bytes.length || (groupLength !== undefined && bytes.length <= 144 + groupLength))
    return fail('truncated');
  const ts = meta.string(TAG.transferSyntax);
  if (ts === undefined) return fail('unreadable');
  // Gate on the syntax before parsing the body: an unsupported encoding may not even parse.
  if (!SUPPORTED_TRANSFER_SYNTAXES.has(ts)) return fail('unsupported-transfer-syntax');
  const deferred = headerOnly && ts === TRANSFER_SYNTAX.deflatedExplicitLittle;
  try {
    const dataSet = dicomParser.parseDicom(
      bytes,
      deferred ? { inflater: inflatePrefix, untilTag: TAG.pixelData } : { inflater: inflate },
    );
    return { ok: true, dataSet, transferSyntaxUid: ts, deferred };
  } catch (thrown) {
    if (thrown instanceof InflationRefused) return fail('decompression-bomb');
    return fail(classifyThrown(thrown));
  }
}

function readBare(bytes: Uint8Array): ReadDataSet {
  const guess = guessBareDataSetSyntax(bytes);
  if (guess === undefined) return { ok: false, reason: 'not-dicom' };
  try {
    const dataSet = dicomParser.parseDicom(bytes, { TransferSyntaxUID: guess });
    return { ok: true, dataSet, transferSyntaxUid: guess, deferred: false };
  } catch {
    return { ok: false, reason: 'not-dicom' };
  }
}
