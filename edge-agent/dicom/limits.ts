import type { DataSet } from 'dicom-parser';

/**
 * How far the agent lets one file expand in memory. A deflated data set or a compressed frame is only
 * expanded up to what its own header declares (rows × columns × frames × samples × bytes per sample) plus
 * these allowances, and never past the absolute cap — so a small file that inflates to gigabytes (a
 * decompression bomb) is stopped before the memory is used, whatever its header says.
 */

/** No data set or decoded frame is expanded past this, whatever the header declares. */
export const MAX_EXPANDED_BYTES = 1024 * 1024 * 1024;

/** Room for the elements before Pixel Data in a deflated data set (private headers, overlays, icons). */
export const HEADER_ALLOWANCE_BYTES = 16 * 1024 * 1024;

/** Room for elements after Pixel Data (padding, digital signatures) in a deflated data set. */
export const TRAILER_SLACK_BYTES = 64 * 1024;

/** Bytes one declared frame of pixels takes: rows × columns × samples × BitsAllocated / 8, rounded up. */
export const declaredFrameBytes = (
  rows: number,
  columns: number,
  samples: number,
  bitsAllocated: number,
): number => Math.ceil((rows * columns * samples * bitsAllocated) / 8);

/**
 * From a data set parsed up to Pixel Data (`untilTag`): where its value starts, how many frames the header
 * declares and how many bytes of pixels (frames × one frame). Undefined when the parse did not reach it.
 */
export function declaredPixels(
  dataSet: DataSet,
): { pixelOffset: number; frames: number; pixelBytes: number } | undefined {
  const pixel = dataSet.elements.x7fe00010;
  if (pixel === undefined) return undefined;
  const int = (tag: string) => (dataSet.elements[tag] ? (dataSet.uint16(tag) ?? 0) : 0);
  const frames = Math.max(1, Math.floor(Number(dataSet.string('x00280008') ?? '1') || 1));
  const frame = declaredFrameBytes(
    int('x00280010'),
    int('x00280011'),
    Math.max(1, int('x00280002')),
    int('x00280100'),
  );
  return { pixelOffset: pixel.dataOffset, frames, pixelBytes: frame * frames };
}
