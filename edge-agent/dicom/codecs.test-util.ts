import { makeDicom } from './fixtures.test-util.ts';

/**
 * Native source images for the codec tests: smooth structure plus deterministic noise (so lossy codecs have
 * something realistic to do), covering signed/unsigned, 8/12/16 bits, MONOCHROME1/2, RGB by pixel and by
 * plane, and multi-frame.
 */
export interface SourceImage {
  name: string;
  bytes: Uint8Array;
  bits: 8 | 12 | 16;
  colour: boolean;
  signed: boolean;
  frames: number;
}

function pattern(
  rows: number,
  columns: number,
  frames: number,
  spp: number,
  lo: number,
  hi: number,
): number[] {
  const out: number[] = [];
  let seed = 12345;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff - 0.5;
  };
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) {
        for (let s = 0; s < spp; s++) {
          const r = Math.hypot(x - columns / 2 - f * 3, y - rows / 2) / (rows / 2);
          const v = 0.5 + 0.4 * Math.cos(r * 3 + s) + 0.05 * noise();
          out.push(Math.round(lo + Math.min(1, Math.max(0, v)) * (hi - lo)));
        }
      }
    }
  }
  return out;
}

/** Two's complement words for signed values. */
const words = (values: number[], bits: number) => values.map((v) => (v < 0 ? v + 2 ** bits : v));

const ROWS = 48;
const COLUMNS = 64;

/** One frame each: signed CT, unsigned 16-bit MR and an 8-bit MONOCHROME1 CR. */
function greyscaleImages(): SourceImage[] {
  const r = ROWS;
  const c = COLUMNS;
  return [
    {
      name: 'ct-signed-12',
      bits: 12,
      colour: false,
      signed: true,
      frames: 1,
      bytes: makeDicom({
        rows: r,
        columns: c,
        bitsAllocated: 16,
        bitsStored: 12,
        pixelRepresentation: 1,
        rescaleSlope: 1,
        rescaleIntercept: -1024,
        words: words(pattern(r, c, 1, 1, -1000, 2000), 16),
      }),
    },
    {
      name: 'mr-unsigned-16',
      bits: 16,
      colour: false,
      signed: false,
      frames: 1,
      bytes: makeDicom({ rows: r, columns: c, modality: 'MR', words: pattern(r, c, 1, 1, 0, 65535) }),
    },
    {
      name: 'cr-mono1-8',
      bits: 8,
      colour: false,
      signed: false,
      frames: 1,
      bytes: makeDicom({
        rows: r,
        columns: c,
        modality: 'CR',
        bitsAllocated: 8,
        photometric: 'MONOCHROME1',
        words: pattern(r, c, 1, 1, 0, 255),
      }),
    },
  ];
}

/** RGB stored by pixel and by plane. */
function colourImages(): SourceImage[] {
  const r = ROWS;
  const c = COLUMNS;
  return [
    {
      name: 'rgb-by-pixel',
      bits: 8,
      colour: true,
      signed: false,
      frames: 1,
      bytes: makeDicom({
        rows: r,
        columns: c,
        modality: 'XC',
        bitsAllocated: 8,
        samplesPerPixel: 3,
        planarConfiguration: 0,
        words: pattern(r, c, 1, 3, 0, 255),
      }),
    },
    {
      name: 'rgb-by-plane',
      bits: 8,
      colour: true,
      signed: false,
      frames: 1,
      bytes: makeDicom({
        rows: r,
        columns: c,
        modality: 'OP',
        bitsAllocated: 8,
        samplesPerPixel: 3,
        planarConfiguration: 1,
        words: pattern(r, c, 1, 3, 0, 255),
      }),
    },
  ];
}

function multiFrameImage(): SourceImage {
  return {
    name: 'multiframe-12',
    bits: 12,
    colour: false,
    signed: false,
    frames: 3,
    bytes: makeDicom({
      rows: 32,
      columns: 32,
      frames: 3,
      bitsStored: 12,
      words: pattern(32, 32, 3, 1, 0, 4095),
    }),
  };
}

export function sourceImages(): SourceImage[] {
  return [...greyscaleImages(), ...colourImages(), multiFrameImage()];
}
