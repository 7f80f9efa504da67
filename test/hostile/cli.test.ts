import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCairn } from '../support/cli-runner.ts';

/**
 * Hostile suite, the CLI's own start. `bin/cairn.mjs` runs cached, transformed TypeScript from
 * `$TMPDIR/cairn-ts-<uid>/`; whoever can write that folder chooses the code the CLI runs.
 */
describe('hostile: the CLI loader cache', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });

  /** A cache folder the CLI filled itself, with every cached file then replaced by code that throws. */
  async function poisonedCache(): Promise<{ tmp: string; dir: string }> {
    const tmp = mkdtempSync(join(tmpdir(), 'cairn-loader-'));
    made.push(tmp);
    expect((await runCairn(['--version'], { TMPDIR: tmp })).status).toBe(0);
    const [name] = readdirSync(tmp).filter((n) => n.startsWith('cairn-ts-'));
    const dir = join(tmp, name!);
    const cached = readdirSync(dir);
    expect(cached.length).toBeGreaterThan(0);
    for (const f of cached) writeFileSync(join(dir, f), 'throw new Error("poisoned cache");\n');
    return { tmp, dir };
  }

  it('runs what is cached in a folder that is the user’s alone (so the poison below would run)', async () => {
    const { tmp } = await poisonedCache();
    const run = await runCairn(['--version'], { TMPDIR: tmp });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('poisoned cache');
  });

  it('another user’s writable cache folder (attack: planted code) → ignored, every file transformed afresh', async () => {
    const { tmp, dir } = await poisonedCache();
    chmodSync(dir, 0o777);
    const run = await runCairn(['--version'], { TMPDIR: tmp });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
