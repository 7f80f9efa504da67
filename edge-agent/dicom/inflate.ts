import { constants, inflateRawSync } from 'node:zlib';
import dicomParser from 'dicom-parser';
import { declaredPixels, HEADER_ALLOWANCE_BYTES, MAX_EXPANDED_BYTES, TRAILER_SLACK_BYTES } from './limits.ts';

/**
 * Bounded inflation of a Deflated Explicit VR Little Endian data set (1.2.840.10008.1.2.1.99).
 *
 * Two steps, each with a hard output limit, so a bomb is stopped before its memory is used:
 * 1. Header: inflate a growing prefix of the compressed bytes (sync-flushed, so a cut stream is fine) until
 *    the elements before Pixel Data parse, within HEADER_ALLOWANCE_BYTES.
 * 2. Body: inflate the whole stream once, into a single buffer of at most what that header declares (pixel
 *    data offset + rows × columns × frames × samples × bits / 8 + TRAILER_SLACK_BYTES, never more than
 *    MAX_EXPANDED_BYTES). zlib is given one output chunk of that size, so the result is that buffer itself,
 *    not a concatenation — one copy of the pixels, no second.
 */

/** The data set would expand past what its header declares, or past the absolute cap. */
export class InflationRefused extends Error {
  constructor() {
    super('inflate: the data set expands past what its header declares');
  }
}

const PIXEL_DATA = 'x7fe00010';
const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';
const FIRST_PROBE_BYTES = 1024;

const isTooLarge = (err: unknown) =>
  err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';

/** Inflates `deflated` (raw deflate) into one buffer of at most `limit` bytes, or throws InflationRefused. */
function inflateAtMost(deflated: Uint8Array, limit: number, partial: boolean): Uint8Array {
  try {
    return inflateRawSync(deflated, {
      chunkSize: Math.max(64, limit + 1),
      maxOutputLength: Math.max(1, limit),
      ...(partial ? { finishFlush: constants.Z_SYNC_FLUSH } : {}),
    });
  } catch (err) {
    if (isTooLarge(err)) throw new InflationRefused();
    throw err;
  }
}

/** Where Pixel Data's value starts and how many bytes the header declares for it, once the prefix holds it. */
function declaredSize(prefix: Uint8Array): { pixelOffset: number; pixelBytes: number } | undefined {
  try {
    return declaredPixels(
      dicomParser.parseDicom(prefix, { TransferSyntaxUID: EXPLICIT_LITTLE, untilTag: PIXEL_DATA }),
    );
  } catch {
    return undefined; // the prefix ends inside an element: more input is needed
  }
}

/**
 * Step 1: the inflated elements up to Pixel Data (`prefix`, which may also hold the start of its value) and
 * the most the whole data set may inflate to (`limit`). Throws InflationRefused when the header is larger
 * than the allowance or declares more than the cap.
 */
export function inflateHeader(deflated: Uint8Array): { prefix: Uint8Array; limit: number } {
  for (let take = FIRST_PROBE_BYTES; ; take *= 2) {
    const whole = take >= deflated.length;
    const prefix = inflateAtMost(deflated.subarray(0, take), HEADER_ALLOWANCE_BYTES, true);
    const declared = declaredSize(prefix);
    // No Pixel Data in the whole stream: the data set is all header, bounded by the allowance.
    const limit = declared
      ? declared.pixelOffset + declared.pixelBytes + TRAILER_SLACK_BYTES
      : whole
        ? HEADER_ALLOWANCE_BYTES
        : undefined;
    if (limit === undefined) continue;
    if (limit > MAX_EXPANDED_BYTES) throw new InflationRefused();
    return { prefix, limit };
  }
}

/**
 * The inflated data set of `deflated` (the bytes after the File Meta Information), bounded as described
 * above. Throws InflationRefused for a bomb, and zlib's own error for a corrupt or cut stream.
 */
export function inflateDataSet(deflated: Uint8Array): Uint8Array {
  return inflateAtMost(deflated, inflateHeader(deflated).limit, false);
}
