import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPRESSIONS, type Compression, compress, decompress } from '../../synthetic/transcode.ts';
import { sourceImages } from './codecs.test-util.ts';
import { initCodecs } from './codecs.ts';
import { decodeFrame } from './decode.ts';
import { parseDicom } from './parse.ts';

/**
 * Every compressed syntax the agent reads, on files written by dcmtk and GDCM (HTJ2K: dcmjs-codecs/OpenJPH),
 * decoded by the agent and compared with what dcmtk's or GDCM's own decoders make of the same file
 * (dcmdrle, dcmdjpeg, dcmdjpls, gdcmconv --raw → native pixels → the agent's native decoder, which the
 * fixture tests pin to known words). Lossless: equal, and equal to the original. Lossy: within a few stored
 * units — two different JPEG implementations may round the IDCT differently.
 */

const LOSSY_TOLERANCE: Partial<Record<Compression, number>> = {
  'jpeg-baseline': 2,
  'jpeg-extended': 2,
  'jpeg-ls-near': 0, // JPEG-LS near-lossless is deterministic: both decoders must agree exactly
  'j2k-lossy': 1,
};

/** Combinations the encoders refuse (checked: the tool exits non-zero). */
const REFUSED = new Set(['ct-signed-12/jpeg-ls-near']);

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-codecs-'));
  await initCodecs();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function decodeAll(bytes: Uint8Array) {
  const parsed = parseDicom(bytes);
  if (!parsed.ok) throw new Error(`parse: ${parsed.reason}`);
  const frames = [];
  for (let f = 0; f < parsed.image.frames; f++) {
    const d = decodeFrame(parsed.image, f);
    if (!d.ok) throw new Error(`decode: ${d.reason}`);
    frames.push(d);
  }
  return { image: parsed.image, frames };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const cases = sourceImages().flatMap((src) =>
  (Object.keys(COMPRESSIONS) as Compression[])
    .filter((kind) => !REFUSED.has(`${src.name}/${kind}`))
    .map((kind) => [src.name, kind, src] as const),
);

describe('compressed pixel data against dcmtk / GDCM', () => {
  it.each(cases)('%s as %s', async (name, kind, src) => {
    const original = join(dir, `${name}.dcm`);
    writeFileSync(original, src.bytes);
    const packed = join(dir, `${name}.${kind}.dcm`);
    const oracle = join(dir, `${name}.${kind}.raw.dcm`);
    await compress(original, packed, kind);
    decompress(packed, oracle, kind, original);

    const ours = decodeAll(new Uint8Array(readFileSync(packed)));
    expect(ours.image.encapsulated).toBe(true);
    expect(ours.image.transferSyntaxUid).toBe(COMPRESSIONS[kind].ts);
    expect(ours.frames).toHaveLength(src.frames);
    const theirs = decodeAll(new Uint8Array(readFileSync(oracle)));
    expect(theirs.image.encapsulated).toBe(false);
    const tolerance = COMPRESSIONS[kind].lossless ? 0 : (LOSSY_TOLERANCE[kind] ?? 0);
    for (let f = 0; f < src.frames; f++) {
      expect(ours.frames[f]!.samples).toBe(src.colour ? 3 : 1);
      expect(maxDiff(ours.frames[f]!.values, theirs.frames[f]!.values)).toBeLessThanOrEqual(tolerance);
      expect(ours.frames[f]!.invert).toBe(name.includes('mono1'));
    }
    if (COMPRESSIONS[kind].lossless) {
      const plain = decodeAll(src.bytes);
      for (let f = 0; f < src.frames; f++)
        expect(maxDiff(ours.frames[f]!.values, plain.frames[f]!.values)).toBe(0);
    }
  });
});

/** The file with its Rows (0028,0010, Explicit VR LE "US") value replaced: the header now lies about the size. */
function withRows(bytes: Uint8Array, rows: number): Uint8Array {
  const out = bytes.slice();
  const tag = [0x28, 0x00, 0x10, 0x00, 0x55, 0x53, 0x02, 0x00];
  for (let p = 132; p + 10 <= out.length; p++) {
    if (tag.every((b, k) => out[p + k] === b)) {
      out[p + 8] = rows & 0xff;
      out[p + 9] = rows >> 8;
      return out;
    }
  }
  throw new Error('fixture: no Rows element');
}

describe('compressed frames bigger or smaller than their header', () => {
  const src = sourceImages().find((s) => s.name === 'mr-unsigned-16')!;
  const reasonOf = (bytes: Uint8Array) => {
    const parsed = parseDicom(bytes);
    if (!parsed.ok) return parsed.reason;
    const d = decodeFrame(parsed.image, 0);
    return d.ok ? 'ok' : d.reason;
  };

  it('rle: a header that declares fewer or more rows than the segments hold is pixel-data-size-mismatch', async () => {
    const original = join(dir, 'size-rle.dcm');
    const packed = join(dir, 'size-rle.packed.dcm');
    writeFileSync(original, src.bytes);
    await compress(original, packed, 'rle');
    const bytes = new Uint8Array(readFileSync(packed));
    expect(reasonOf(bytes)).toBe('ok');
    // RLE states no size: what its segments decode to is counted from the PackBits runs, before decoding.
    expect(reasonOf(withRows(bytes, 8))).toBe('pixel-data-size-mismatch');
    expect(reasonOf(withRows(bytes, 480))).toBe('pixel-data-size-mismatch');
  });

  it.each(['jpeg-baseline', 'jpeg-lossless', 'jpeg-ls', 'j2k', 'htj2k'] as const)(
    '%s: a header that declares fewer rows than the bitstream holds is pixel-data-size-mismatch',
    async (kind) => {
      const original = join(dir, `size-${kind}.dcm`);
      const packed = join(dir, `size-${kind}.packed.dcm`);
      writeFileSync(original, src.bytes);
      await compress(original, packed, kind);
      const bytes = new Uint8Array(readFileSync(packed));
      expect(reasonOf(bytes)).toBe('ok');
      // The bitstream decodes to 48 rows; the header says 8 (a bomb hiding in a small header) or 480.
      expect(reasonOf(withRows(bytes, 8))).toBe('pixel-data-size-mismatch');
      expect(reasonOf(withRows(bytes, 480))).toBe('pixel-data-size-mismatch');
    },
  );

  it('a frame declared past the absolute cap is a decompression-bomb, refused before decoding', async () => {
    const original = join(dir, 'cap.dcm');
    const packed = join(dir, 'cap.packed.dcm');
    writeFileSync(original, src.bytes);
    await compress(original, packed, 'jpeg-ls');
    // 65535 × 65535 × 2 bytes is 8 GiB: over the cap, so the decoder is never asked for it.
    const parsed = parseDicom(new Uint8Array(readFileSync(packed)));
    if (!parsed.ok) throw new Error(parsed.reason);
    const image = { ...parsed.image, rows: 65535, columns: 65535 };
    const d = decodeFrame(image, 0);
    expect(d.ok ? 'ok' : d.reason).toBe('decompression-bomb');
  });
});
