import type { DataSet } from 'dicom-parser';
import { readDataSet } from './data-set.ts';
import { groupFragments } from './fragments.ts';
import { multiValue, type PixelLayout, readOptionalFields, readPixelLayout } from './header-fields.ts';
import type { DicomImage, ImageExclusionReason, ParseResult } from './image.ts';
import { ENCAPSULATED_TRANSFER_SYNTAXES, type PixelCodec, TRANSFER_SYNTAX } from './syntax.ts';
import { TAG } from './tags.ts';

export { ageInYears } from './header-fields.ts';
export type { DicomImage, FrameRescale, ImageExclusionReason, ParseResult } from './image.ts';
export {
  ENCAPSULATED_TRANSFER_SYNTAXES,
  type PixelCodec,
  SUPPORTED_TRANSFER_SYNTAXES,
  TRANSFER_SYNTAX,
} from './syntax.ts';

/**
 * Parse operator: bytes of one file → the header fields the pipeline needs plus a zero-copy view of the pixel
 * data, or one closed exclusion reason. The container (data-set.ts), the header fields (header-fields.ts) and
 * the fragments of encapsulated pixel data (fragments.ts) are read by their own parts.
 *
 * PHI rule: nothing read from the file (and no file name) ever appears in a thrown error or a log line; this
 * function does not throw at all, and only the reason enum leaves it on failure.
 */

const fail = (reason: ImageExclusionReason): ParseResult => ({ ok: false, reason });

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
  const read = readDataSet(bytes, headerOnly);
  if (!read.ok) return read;
  const { dataSet, transferSyntaxUid, deferred } = read;
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
  const layout = readPixelLayout(dataSet);
  if (!layout) return fail('decode-error');
  const pixels = readPixels(dataSet, pixelElement, layout, codec, deferred);
  if (typeof pixels === 'string') return fail(pixels);

  const image: DicomImage = {
    sopInstanceUid,
    studyInstanceUid,
    seriesInstanceUid: dataSet.string(TAG.seriesInstanceUid) ?? '',
    modality: (dataSet.string(TAG.modality) ?? '').toUpperCase(),
    imageType: dataSet.string(TAG.imageType) === undefined ? [] : multiValue(dataSet, TAG.imageType),
    ...layout,
    transferSyntaxUid,
    littleEndian: transferSyntaxUid !== TRANSFER_SYNTAX.explicitBig,
    ...pixels,
    encapsulated,
    ...readOptionalFields(dataSet, layout),
  };
  if (deferred) image.pixelsDeferred = true;
  if (codec !== undefined) image.codec = codec;
  if (pixelElement.vr) image.pixelDataVr = pixelElement.vr;
  return { ok: true, image };
}

type Element = DataSet['elements'][string];

/** Native pixels as a view of the buffer (none yet when deferred); encapsulated ones as per-frame fragments. */
function readPixels(
  dataSet: DataSet,
  element: Element,
  layout: PixelLayout,
  codec: PixelCodec | undefined,
  deferred: boolean,
): Pick<DicomImage, 'pixelData' | 'frameFragments'> | ImageExclusionReason {
  const { byteArray } = dataSet;
  if (codec !== undefined) {
    const grouped = groupFragments(byteArray, element, layout.frames, codec);
    return typeof grouped === 'string' ? grouped : { pixelData: new Uint8Array(0), frameFragments: grouped };
  }
  const { rows, columns, frames, bitsAllocated, photometric } = layout;
  // YBR_FULL_422 native: two luma samples share one Cb and one Cr (PS3.3 C.7.6.3.1.2).
  const perPixel = photometric === 'YBR_FULL_422' ? 2 : layout.samplesPerPixel;
  const expectedBytes = Math.ceil((rows * columns * frames * perPixel * bitsAllocated) / 8);
  if (element.length < expectedBytes) return 'truncated';
  return {
    pixelData: deferred
      ? new Uint8Array(0)
      : new Uint8Array(byteArray.buffer, byteArray.byteOffset + element.dataOffset, element.length),
  };
}
