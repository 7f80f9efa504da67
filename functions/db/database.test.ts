import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.ts';
import { queueMessages, regions } from './schema.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-db-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function runWorker(url: string, count: number): Promise<{ code: number | null; stderr: string }> {
  const worker = fileURLToPath(new URL('./database.worker.ts', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, url, String(count)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('openDatabase', () => {
  it('migrates a new file, switches it to WAL, and opens it again unchanged', async () => {
    const url = `file:${join(dir, 'cairn.db')}`;
    const db = await openDatabase(url);
    expect((await db.$client.execute('PRAGMA journal_mode')).rows[0]?.[0]).toBe('wal');
    await db.insert(regions).values({ id: 'north', name: 'North', createdAt: new Date() });
    db.$client.close();
    const again = await openDatabase(url);
    expect(await again.select().from(regions)).toHaveLength(1);
    again.$client.close();
  });

  it('works in memory', async () => {
    const db = await openDatabase(':memory:');
    expect(await db.select().from(regions)).toEqual([]);
    db.$client.close();
  });

  it('two processes writing one new file at once do not hit SQLITE_BUSY', async () => {
    const url = `file:${join(dir, 'shared.db')}`;
    const results = await Promise.all([runWorker(url, 150), runWorker(url, 150)]);
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    const db = await openDatabase(url);
    expect(await db.select().from(queueMessages)).toHaveLength(300);
    db.$client.close();
  });
});
