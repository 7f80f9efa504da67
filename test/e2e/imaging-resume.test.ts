import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDicom, uid } from '../../edge-agent/dicom/fixtures.test-util.ts';
import { buildResNet18Onnx, resnetManifest } from '../../synthetic/resnet.ts';

/**
 * Resumability, for real: the CLI (`cairn agent score`, the same pipeline and cache `agent run` uses) is
 * SIGKILLed in the middle of a run; the rerun infers exactly the images whose scores were not yet committed,
 * and a third run infers none.
 */

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'cairn.mjs');
const IMAGES = 160;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-resume-'));
  const dicom = join(dir, 'dicom');
  mkdirSync(dicom);
  for (let s = 0; s < IMAGES / 4; s++) {
    const study = uid();
    for (let i = 0; i < 4; i++) {
      const words = Array.from({ length: 64 * 64 }, (_, k) => (k * (s + 3) + i * 97) % 4096);
      writeFileSync(
        join(dicom, `${s}-${i}.dcm`),
        makeDicom({
          studyInstanceUid: study,
          rows: 64,
          columns: 64,
          bitsStored: 12,
          words,
          rescaleIntercept: -1024,
        }),
      );
    }
  }
  // ResNet-18 at 96×96: slow enough on 2 cores (a few ms per image) to be killed mid-run.
  writeFileSync(join(dir, 'model.onnx'), buildResNet18Onnx({ inputSize: 96 }));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(resnetManifest(96)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const args = () => [
  CLI,
  'agent',
  'score',
  '--manifest',
  join(dir, 'manifest.json'),
  '--onnx',
  join(dir, 'model.onnx'),
  '--dicom',
  join(dir, 'dicom'),
  '--state',
  join(dir, 'state'),
  '--device',
  'cpu',
  '--batch-size',
  '4',
  '--threads',
  '1',
  '--output',
  'json',
];

async function cachedRows(): Promise<number> {
  if (!existsSync(join(dir, 'state', 'agent.db'))) return 0;
  const client = createClient({ url: `file:${join(dir, 'state', 'agent.db')}`, timeout: 5000 });
  try {
    const r = await client.execute('SELECT count(*) AS n FROM predictions');
    return Number(r.rows[0]?.n ?? 0);
  } catch {
    return 0; // not created yet
  } finally {
    client.close();
  }
}

function runToEnd(): { inferred: number; cached: number; images: { seen: number; used: number } } {
  const r = spawnSync(process.execPath, args(), { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`cairn agent score failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('a run killed with SIGKILL', () => {
  it('resumes without re-inferring finished images; a rerun infers nothing', async () => {
    const child = spawn(process.execPath, args(), { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    let persisted = 0;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      persisted = await cachedRows();
      if (persisted >= 12) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
    await exited;
    const before = await cachedRows();
    expect(before).toBeGreaterThanOrEqual(12);
    expect(before).toBeLessThan(IMAGES); // really mid-run

    const second = runToEnd();
    expect(second.cached).toBe(before);
    expect(second.inferred).toBe(IMAGES - before);
    expect(second.images).toEqual({ seen: IMAGES, used: IMAGES });

    const third = runToEnd();
    expect(third.inferred).toBe(0);
    expect(third.cached).toBe(IMAGES);
  }, 240_000);
});
