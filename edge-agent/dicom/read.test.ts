import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSizeBomb } from '../../synthetic/bomb.ts';
import { parseDicom } from './parse.ts';
import { readDicomFile } from './read.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-read-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec = { sopInstanceUid: '1.2.3.4.5', studyInstanceUid: '1.2.3.4' };

describe('readDicomFile', () => {
  it('refuses a size bomb (64×64 declared, 80 MiB of pixel data) without reading it', async () => {
    const file = join(dir, 'size-bomb.dcm');
    await writeSizeBomb(file, { ...spec, rows: 64, columns: 64, inflatedBytes: 80 * 1024 * 1024 });
    const before = process.memoryUsage().arrayBuffers;
    expect(await readDicomFile(file)).toBe('pixel-data-size-mismatch');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
  });

  it('reads a large file whose size is what its header declares (3 frames of 4096×4096)', async () => {
    const file = join(dir, 'large.dcm');
    await writeSizeBomb(file, {
      ...spec,
      rows: 4096,
      columns: 4096,
      frames: 3,
      inflatedBytes: 3 * 4096 * 4096 * 2,
    });
    const bytes = await readDicomFile(file);
    expect(typeof bytes).not.toBe('string');
    const parsed = parseDicom(bytes as Uint8Array);
    expect(parsed.ok && parsed.image.frames).toBe(3);
  });

  it('calls a file that cannot be opened unreadable-file', async () => {
    expect(await readDicomFile(join(dir, 'vanished.dcm'))).toBe('unreadable-file');
  });
});
