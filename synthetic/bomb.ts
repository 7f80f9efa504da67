import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { constants, createDeflateRaw } from 'node:zlib';

/**
 * Decompression (and size) bombs for the hostile suite and the memory bench: Deflated Explicit VR Little Endian files
 * (1.2.840.10008.1.2.1.99) whose header declares a small image but whose deflate stream expands to far more —
 * a Pixel Data element that claims (and holds) `inflatedBytes` of zeros, ~1000:1 in deflate. Written by hand,
 * element by element, so the bytes do not depend on the code under test; the zeros are deflated as a stream,
 * so a 1.7 GiB bomb is written without holding 1.7 GiB.
 */

const DEFLATED = '1.2.840.10008.1.2.1.99';
const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';
const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';

export interface BombSpec {
  sopInstanceUid: string;
  studyInstanceUid: string;
  /** What the header declares (16-bit, one sample, one frame unless `frames`). */
  rows: number;
  columns: number;
  frames?: number;
  /** What the Pixel Data element holds once inflated (zeros). */
  inflatedBytes: number;
}

const LONG_VRS = new Set(['OB', 'OW', 'SQ', 'UN', 'UT']);

function element(group: number, el: number, vr: string, value: Uint8Array, length = value.length): Buffer {
  const long = LONG_VRS.has(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(el, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(length, 8);
  else head.writeUInt16LE(length, 6);
  return Buffer.concat([head, value]);
}

/** UI/CS/IS values padded to even length (UI with NUL, the rest with a space). */
const text = (vr: string, s: string) => {
  const pad = s.length % 2 ? (vr === 'UI' ? '\0' : ' ') : '';
  return Buffer.from(s + pad, 'latin1');
};
const us = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n, 0);
  return b;
};

/** Preamble, DICM and the File Meta Information group (always uncompressed). */
function metaGroup(sop: string, transferSyntax = DEFLATED): Buffer {
  const elements = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', text('UI', CT_IMAGE)),
    element(0x0002, 0x0003, 'UI', text('UI', sop)),
    element(0x0002, 0x0010, 'UI', text('UI', transferSyntax)),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(elements.length, 0);
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    element(0x0002, 0x0000, 'UL', length),
    elements,
  ]);
}

/** The data set's elements up to and including Pixel Data's tag and length (its value follows). */
function dataSetHead(spec: BombSpec): Buffer {
  const parts = [
    element(0x0008, 0x0016, 'UI', text('UI', CT_IMAGE)),
    element(0x0008, 0x0018, 'UI', text('UI', spec.sopInstanceUid)),
    element(0x0008, 0x0060, 'CS', text('CS', 'CT')),
    element(0x0018, 0x0015, 'CS', text('CS', 'CHEST')),
    element(0x0020, 0x000d, 'UI', text('UI', spec.studyInstanceUid)),
    element(0x0020, 0x000e, 'UI', text('UI', `${spec.studyInstanceUid}.1`)),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0004, 'CS', text('CS', 'MONOCHROME2')),
  ];
  if (spec.frames !== undefined) parts.push(element(0x0028, 0x0008, 'IS', text('IS', String(spec.frames))));
  parts.push(
    element(0x0028, 0x0010, 'US', us(spec.rows)),
    element(0x0028, 0x0011, 'US', us(spec.columns)),
    element(0x0028, 0x0100, 'US', us(16)),
    element(0x0028, 0x0101, 'US', us(12)),
    element(0x0028, 0x0102, 'US', us(11)),
    element(0x0028, 0x0103, 'US', us(0)),
    element(0x7fe0, 0x0010, 'OW', new Uint8Array(0), spec.inflatedBytes),
  );
  return Buffer.concat(parts);
}

const ZEROS = Buffer.alloc(4 * 1024 * 1024);

async function* plainBody(spec: BombSpec): AsyncGenerator<Buffer> {
  yield dataSetHead(spec);
  for (let left = spec.inflatedBytes; left > 0; left -= ZEROS.length) {
    yield left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left);
  }
}

/** The bomb as bytes (for small bombs in tests). */
export async function deflateBomb(spec: BombSpec): Promise<Uint8Array> {
  const out: Buffer[] = [metaGroup(spec.sopInstanceUid)];
  await pipeline(
    plainBody(spec),
    createDeflateRaw({ level: constants.Z_BEST_COMPRESSION }),
    async (deflated: AsyncIterable<Buffer>) => {
      for await (const chunk of deflated) out.push(chunk);
    },
  );
  return new Uint8Array(Buffer.concat(out));
}

/** The bomb written to `file` as a stream (for the bench's gigabyte bombs). */
export async function writeDeflateBomb(file: string, spec: BombSpec): Promise<void> {
  const sink = createWriteStream(file);
  sink.write(metaGroup(spec.sopInstanceUid));
  await pipeline(plainBody(spec), createDeflateRaw({ level: constants.Z_BEST_COMPRESSION }), sink);
}

/**
 * A size bomb without compression: an Explicit VR Little Endian file whose Pixel Data holds `inflatedBytes`
 * while the header declares `rows × columns`. Written sparse (the zeros are a hole made by truncate), so a
 * gigabyte bomb takes no disk.
 */
export async function writeSizeBomb(file: string, spec: BombSpec): Promise<void> {
  const head = Buffer.concat([metaGroup(spec.sopInstanceUid, EXPLICIT_LITTLE), dataSetHead(spec)]);
  const handle = await open(file, 'w');
  try {
    await handle.write(head, 0, head.length, 0);
    await handle.truncate(head.length + spec.inflatedBytes);
  } finally {
    await handle.close();
  }
}
