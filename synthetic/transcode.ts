import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Compressed DICOM made by other people's encoders, for tests and the benchmark: dcmtk (dcmcjpeg, dcmcrle,
 * dcmcjpls) and GDCM (gdcmconv) from Debian. HTJ2K has no Debian command-line encoder; it is written with
 * dcmjs-codecs' OpenJPH build (installed with dcmjs-imaging), and only lossless, so the original pixels are
 * its oracle.
 *
 * `decompress` is the oracle side: the same tools' decoders writing native Explicit VR Little Endian.
 */

export const COMPRESSIONS = {
  rle: { ts: '1.2.840.10008.1.2.5', lossless: true },
  'jpeg-baseline': { ts: '1.2.840.10008.1.2.4.50', lossless: false },
  'jpeg-extended': { ts: '1.2.840.10008.1.2.4.51', lossless: false },
  'jpeg-lossless': { ts: '1.2.840.10008.1.2.4.57', lossless: true },
  'jpeg-lossless-sv1': { ts: '1.2.840.10008.1.2.4.70', lossless: true },
  'jpeg-ls': { ts: '1.2.840.10008.1.2.4.80', lossless: true },
  'jpeg-ls-near': { ts: '1.2.840.10008.1.2.4.81', lossless: false },
  'jpeg-ls-gdcm': { ts: '1.2.840.10008.1.2.4.80', lossless: true },
  j2k: { ts: '1.2.840.10008.1.2.4.90', lossless: true },
  'j2k-lossy': { ts: '1.2.840.10008.1.2.4.91', lossless: false },
  htj2k: { ts: '1.2.840.10008.1.2.4.201', lossless: true },
} as const;
export type Compression = keyof typeof COMPRESSIONS;

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** Writes `outFile`, the native file `inFile` compressed with `kind`. Throws when the tool refuses. */
export async function compress(inFile: string, outFile: string, kind: Compression): Promise<void> {
  switch (kind) {
    case 'rle':
      run('dcmcrle', [inFile, outFile]);
      return;
    case 'jpeg-baseline':
      run('dcmcjpeg', ['+eb', inFile, outFile]);
      return;
    case 'jpeg-extended':
      run('dcmcjpeg', ['+ee', inFile, outFile]);
      return;
    case 'jpeg-lossless':
      run('dcmcjpeg', ['+el', inFile, outFile]);
      return;
    case 'jpeg-lossless-sv1':
      run('dcmcjpeg', ['+e1', inFile, outFile]);
      return;
    case 'jpeg-ls':
      run('dcmcjpls', ['+el', inFile, outFile]);
      return;
    case 'jpeg-ls-near':
      run('dcmcjpls', ['+en', '+md', '2', inFile, outFile]);
      return;
    case 'jpeg-ls-gdcm':
      run('gdcmconv', ['--jpegls', inFile, outFile]);
      return;
    case 'j2k':
      run('gdcmconv', ['--j2k', inFile, outFile]);
      return;
    case 'j2k-lossy':
      run('gdcmconv', ['--j2k', '--lossy', '-r', '10', inFile, outFile]);
      return;
    case 'htj2k':
      await htj2k(inFile, outFile);
      return;
  }
}

/**
 * The oracle: native Explicit VR Little Endian pixels from dcmtk's or GDCM's own decoders. HTJ2K has no
 * decoder in Debian (GDCM 3.0 predates it); it is lossless, so its oracle is the original (`original`).
 */
export function decompress(inFile: string, outFile: string, kind: Compression, original?: string): void {
  if (kind === 'htj2k') {
    if (!original) throw new Error('decompress: HTJ2K needs the original file as its oracle');
    writeFileSync(outFile, readFileSync(original));
  } else if (kind === 'rle') run('dcmdrle', [inFile, outFile]);
  else if (kind.startsWith('jpeg-ls')) run('dcmdjpls', [inFile, outFile]);
  else if (kind.startsWith('jpeg')) run('dcmdjpeg', [inFile, outFile]);
  else run('gdcmconv', ['--raw', inFile, outFile]);
}

interface CodecsModule {
  NativeCodecs: { initializeAsync(): Promise<void>; isInitialized(): boolean };
  Transcoder: new (buffer: ArrayBuffer) => { transcode(ts: string): void; getDicomPart10(): ArrayBuffer };
}

async function htj2k(inFile: string, outFile: string): Promise<void> {
  // dcmjs-codecs is CommonJS and ships no ESM entry; load it the way Node loads CommonJS.
  const codecs = createRequire(import.meta.url)('dcmjs-codecs') as CodecsModule;
  if (!codecs.NativeCodecs.isInitialized()) await codecs.NativeCodecs.initializeAsync();
  const bytes = readFileSync(inFile);
  const t = new codecs.Transcoder(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  t.transcode(COMPRESSIONS.htj2k.ts);
  writeFileSync(outFile, new Uint8Array(t.getDicomPart10()));
}
