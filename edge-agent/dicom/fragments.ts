import type { DataSet } from 'dicom-parser';
import type { ImageExclusionReason } from './image.ts';
import type { PixelCodec } from './syntax.ts';

type Element = DataSet['elements'][string];

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
export function groupFragments(
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
