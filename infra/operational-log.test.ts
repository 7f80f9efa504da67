import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileLog, type OperationalLogEntry } from './operational-log.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const head = (seq: number): OperationalLogEntry => ({
  time: new Date(0).toISOString(),
  event: 'audit',
  code: 'region.created',
  ref: `${seq}:${String(seq).padStart(64, '0')}`,
});
const request: OperationalLogEntry = {
  time: new Date(0).toISOString(),
  event: 'request',
  method: 'GET',
  route: '/v1/jobs',
  status: 200,
};

/** The highest audit seq in cloud.log and its rotated files. */
function newestLoggedSeq(): number {
  let newest = 0;
  for (const name of readdirSync(dir))
    for (const m of readFileSync(join(dir, name), 'utf8').matchAll(/"ref":"(\d+):/g))
      newest = Math.max(newest, Number(m[1]));
  return newest;
}

describe('the file log', () => {
  it('carries the newest audit head into each new file when two processes write it', async () => {
    const path = join(dir, 'cloud.log');
    const a = createFileLog(path, { maxBytes: 2048, keep: 2 });
    const b = createFileLog(path, { maxBytes: 2048, keep: 2 });
    a.write(head(1));
    b.write(head(2)); // the newest head, written by the other process
    for (let i = 0; i < 200; i++) a.write(request);
    expect(newestLoggedSeq()).toBe(2);
  });

  it('rotates a file left over from before rotation, however large, and keeps its newest head', () => {
    const path = join(dir, 'cloud.log');
    writeFileSync(path, `${JSON.stringify(head(7))}\n`);
    // Sparse: larger than one JavaScript string may be, without using the disk.
    truncateSync(path, 600 * 1024 * 1024);
    const log = createFileLog(path, { maxBytes: 4096 });
    log.write(request);
    expect(readdirSync(dir).sort()).toEqual(['cloud.log', 'cloud.log.1']);
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(JSON.stringify(head(7)));
  });
});
