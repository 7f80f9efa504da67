import { open } from 'node:fs/promises';
import dicomParser from 'dicom-parser';
import { declaredPixels, HEADER_ALLOWANCE_BYTES, MAX_EXPANDED_BYTES, TRAILER_SLACK_BYTES } from './limits.ts';
import type { ImageExclusionReason } from './parse.ts';

/**
 * Read operator with a size bound: the bytes of one file, or why it is not read.
 *
 * Small files are read whole. A file over SMALL_FILE_BYTES is read only when its size fits what its header
 * declares: the header (first HEADER_ALLOWANCE_BYTES) is parsed up to Pixel Data, and a file larger than
 * pixel data offset + rows × columns × frames × samples × bits / 8 + TRAILER_SLACK_BYTES — a size bomb, such as
 * a gigabyte of "pixel data" behind a 512×512 header — is refused as 'pixel-data-size-mismatch' without
 * reading it. No file over MAX_EXPANDED_BYTES is read. Deflated files are bounded when they are inflated
 * (inflate.ts); their compressed size only has to be under the cap.
 */

const SMALL_FILE_BYTES = 64 * 1024 * 1024;
const PIXEL_DATA = 'x7fe00010';

export async function readDicomFile(path: string): Promise<Uint8Array | ImageExclusionReason> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch {
    return 'unreadable-file';
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_EXPANDED_BYTES) return 'pixel-data-size-mismatch';
    if (size > SMALL_FILE_BYTES) {
      const head = new Uint8Array(Math.min(size, HEADER_ALLOWANCE_BYTES));
      await handle.read(head, 0, head.length, 0);
      const bound = declaredFileBytes(head);
      if (bound !== undefined && size > bound) return 'pixel-data-size-mismatch';
    }
    const buf = await handle.readFile();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch {
    return 'unreadable-file';
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * The most a file with this header may hold, or undefined when the head does not parse up to Pixel Data
 * (then the parser decides) or the file is deflated (its size says nothing about the pixels).
 */
function declaredFileBytes(head: Uint8Array): number | undefined {
  let declared: ReturnType<typeof declaredPixels>;
  try {
    declared = declaredPixels(
      dicomParser.parseDicom(head, {
        untilTag: PIXEL_DATA,
        inflater: () => {
          throw new Error('read: deflated');
        },
      }),
    );
  } catch {
    return undefined;
  }
  if (declared === undefined) return undefined;
  // Encapsulated data adds 8 bytes of item header per fragment; one fragment per frame is the common case.
  return declared.pixelOffset + declared.pixelBytes + 8 * (declared.frames + 2) + TRAILER_SLACK_BYTES;
}
