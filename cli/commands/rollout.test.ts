import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../functions/audit/hashes.ts';
import { verifyAuditData } from '../../functions/audit/verify-data.ts';
import { openDatabase } from '../../functions/db/database.ts';
import { applyVerdict } from '../../functions/rollouts/lifecycle.ts';
import { fakeOnnx, modelUploadForm, testManifest } from '../../functions/test-fixtures.ts';
import { systemClock } from '../../infra/clock.ts';
import { createMemoryLog } from '../../infra/operational-log.ts';
import { runCairn } from '../../test/support/cli-runner.ts';
import { type CloudProcess, startCloudProcess } from '../demo/cloud-process.ts';

/** `cairn rollout …` against a real `cairn cloud serve` process: four eyes, a refusal in one line, a suspension. */

let dir: string;
let cloud: CloudProcess;
let admin: string;
let modelId: string;
let vendor: string;

async function post(path: string, token: string, body: unknown): Promise<Record<string, string>> {
  const init =
    body instanceof FormData
      ? { body }
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
  const res = await fetch(`${cloud.url}${path}`, {
    method: 'POST',
    ...init,
    headers: { ...init.headers, authorization: `Bearer ${token}` },
  });
  expect(res.status, path).toBe(201);
  return (await res.json()) as Record<string, string>;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-rollout-cli-'));
  cloud = await startCloudProcess(dir);
  admin = readFileSync(cloud.adminTokenPath, 'utf8').trim();
  await post('/v1/regions', admin, { id: 'north', name: 'North' });
  await post('/v1/sites', admin, { id: 'site-a', regionId: 'north', name: 'A' });
  await post('/v1/vendors', admin, { id: 'acme', name: 'Acme' });
  vendor = (await post('/v1/tokens', admin, { role: 'vendor', vendorId: 'acme', label: 'v' })).token!;
  modelId = (await post('/v1/models', vendor, modelUploadForm(testManifest(), fakeOnnx('cli')))).modelId!;
  await post('/v1/campaigns', admin, { name: 'C', minCell: 3, modelIds: [modelId], siteIds: ['site-a'] });
  // The comparison's verdict, applied as the integrating code will: on the same database, from this process.
  const db = await openDatabase(`file:${join(dir, 'cairn.db')}`);
  const deps = { db, clock: systemClock, log: createMemoryLog() };
  await applyVerdict(deps, { modelId, regionId: 'north', verdict: 'pass', evidenceSha256: sha256Hex('c') });
  db.$client.close();
}, 120_000);
afterAll(async () => {
  await cloud?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cairn = (token: string, args: string[]) =>
  runCairn([
    'rollout',
    ...args,
    '--model',
    modelId,
    '--region',
    'north',
    '--cloud',
    cloud.url,
    '--token',
    token,
  ]);

describe('cairn rollout', () => {
  it('refuses the vendor, approves with two people (not one with two tokens), suspends with one, reinstates with two', async () => {
    const alice = await runCairn([
      ...['token', 'create', '--role', 'coordinator', '--regions', 'north', '--person', 'alice'],
      ...['--cloud', cloud.url, '--token', admin, '--output', 'json'],
    ]);
    expect(alice.status, alice.stderr).toBe(0);
    const aliceToken = JSON.parse(alice.stdout).token as string;
    expect(JSON.parse(alice.stdout).personId).toBe('alice');
    const tokens = await runCairn(['token', 'list', '--cloud', cloud.url, '--token', admin]);
    expect(tokens.stdout).toMatch(/coordinator +regions north +no expiry +cli \(person alice\)/);
    const [aliceAgain, bob] = await Promise.all(
      ['alice', 'bob'].map(
        async (personId) =>
          (await post('/v1/tokens', admin, { role: 'admin', personId, label: personId })).token!,
      ),
    );

    const byVendor = await cairn(vendor, ['approve', '--reason', 'ours is good']);
    expect(byVendor.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^cairn: cloud refused \(403 decision-not-allowed\)/),
    ]);
    const approve = await cairn(aliceToken, ['approve', '--reason', 'meets the criteria']);
    expect(approve.status, approve.stderr).toBe(0);
    expect(approve.stdout).toContain('approve by alice awaits confirmation');
    const self = await cairn(aliceAgain!, ['confirm', '--reason', 'me again']);
    expect(self.status).not.toBe(0);
    expect(self.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^cairn: cloud refused \(409 same-person\)/),
    ]);
    const confirm = await cairn(bob!, ['confirm', '--reason', 'agreed', '--output', 'json']);
    expect(confirm.status, confirm.stderr).toBe(0);
    expect(JSON.parse(confirm.stdout).rollout).toMatchObject({ state: 'approved', pending: null });

    const suspend = await cairn(aliceToken, ['suspend', '--reason', 'drift alert']);
    expect(suspend.status, suspend.stderr).toBe(0);
    expect((await cairn(aliceToken, ['reinstate', '--reason', 'drift explained'])).status).toBe(0);
    const reinstated = await cairn(bob!, ['confirm', '--reason', 'checked the drift report']);
    expect(reinstated.stdout).toContain('  deployed');
    const show = await cairn(admin, ['show']);
    expect(show.stdout).toContain('suspend approved -> suspended by alice');
    expect(show.stdout).toContain('confirm-reinstatement suspended -> deployed by bob');
    // The decisions of two processes (the cloud's and this test's verdict) make one intact chain.
    expect(await verifyAuditData(dir)).toMatchObject({ ok: true, disagreements: [] });
  }, 120_000);
});
