import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudProcess, startCloudProcess } from '../../cli/demo/cloud-process.ts';
import { SIGNATURE_HEADER } from '../../edge-agent/rollout-notices.ts';
import {
  fakeOnnx,
  type Loose,
  modelUploadForm,
  type Signer,
  signEnvelope,
  siteKeyPair,
  siteReport,
  testManifest,
} from '../../functions/test-fixtures.ts';
import type { Criteria } from '../../schemas/criteria.ts';
import { runCairn } from '../support/cli-runner.ts';

/**
 * Evidence to decision, through the CLI against a real `cairn cloud serve`: version 1 fails the south's
 * criteria, version 2 passes everywhere; the verdicts set the rollouts, people approve (four eyes), concede,
 * suspend and reinstate, and the hospital's agent and webhook learn of the suspension at their next poll.
 */

const SECRET = 'orchestrator-secret';
const CRITERIA: Criteria = {
  schema: 'cairn.criteria/v1',
  rules: [
    { metric: 'sensitivity', scope: 'region', bound: 'estimate', atLeast: 0.7 },
    { scope: 'region', minCases: 40 },
  ],
};

let dir: string;
let cloud: CloudProcess;
let hook: Server;
let admin: string;
let vendor: string;
let campaignId: string;
const v: Record<'v1' | 'v2', { modelId: string; sha256: string; version: string }> = {} as never;
const people: Record<'alice' | 'aliceAgain' | 'bob', string> = {} as never;
const received: { body: string; signature: string | undefined }[] = [];

async function api(method: string, path: string, token: string, body?: unknown) {
  const init =
    body instanceof FormData
      ? { body }
      : body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
  const res = await fetch(`${cloud.url}${path}`, {
    method,
    ...init,
    headers: { ...(init as { headers?: object }).headers, authorization: `Bearer ${token}` },
  });
  const answer = (await res.json()) as Loose;
  expect(res.status, `${method} ${path}: ${JSON.stringify(answer)}`).toBeLessThan(300);
  return answer;
}

const cairn = async (args: string[], token = admin) => {
  const r = await runCairn([...args, '--cloud', cloud.url, '--token', token]);
  return { ...r, lines: r.stderr.trim().split('\n') };
};
const ok = async (args: string[], token = admin) => {
  const r = await cairn(args, token);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const rollout = (token: string, which: 'v1' | 'v2', region: string, action: string, extra: string[] = []) =>
  cairn(['rollout', action, '--model', v[which].modelId, '--region', region, ...extra], token);

async function enrollSigner(siteId: string): Promise<Signer & { token: string }> {
  const { token } = await api('POST', `/v1/sites/${siteId}/enrollment-tokens`, admin, {});
  const keys = siteKeyPair();
  const res = await fetch(`${cloud.url}/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, publicKey: keys.publicKeyRaw, agentVersion: '0.1.0' }),
  });
  const body = (await res.json()) as Loose;
  return { siteId, keyId: body.keyId, privateKey: keys.privateKey, token: body.apiToken };
}

/** Signed site reports as agents send them: sensitivity tp/20 per (version, site). */
async function sendReports(jobs: Loose[], tpOf: Record<string, number>) {
  const signers = { 'site-a': await enrollSigner('site-a'), 'site-c': await enrollSigner('site-c') };
  for (const which of ['v1', 'v2'] as const)
    for (const signer of Object.values(signers)) {
      const m = v[which];
      const jobId = jobs.find((j) => j.modelId === m.modelId && j.siteId === signer.siteId).jobId;
      const model = { vendor: 'acme', name: 'chest-xray', version: m.version, sha256: m.sha256 };
      const report = siteReport(
        { campaignId, jobId, siteId: signer.siteId, model },
        { tp: tpOf[`${which}/${signer.siteId}`] },
      );
      await api('POST', '/v1/reports', signer.token, signEnvelope(signer, report, { timestamp: new Date() }));
    }
  // Ingest runs in the cloud process; the vendor's view (which decides nothing) shows when it is done.
  for (let i = 0; i < 200; i++) {
    const c = await api('GET', `/v1/campaigns/${campaignId}/comparison`, vendor);
    const pooled = c.models.flatMap((m: Loose) => m.sites).filter((s: Loose) => s.status === 'pooled');
    if (pooled.length === 4) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the cloud did not ingest the four reports');
}

async function enrollAgent(): Promise<string> {
  const stateDir = join(dir, 'agent');
  mkdirSync(join(dir, 'dicom'));
  writeFileSync(join(dir, 'labels.csv'), 'StudyInstanceUID,label\n1.2.3,1\n');
  const { token } = await api('POST', '/v1/sites/site-b/enrollment-tokens', admin, {});
  const enrolled = await runCairn([
    ...['agent', 'enroll', '--cloud', cloud.url, '--token', token, '--state', stateDir],
    ...['--dicom', join(dir, 'dicom'), '--labels', join(dir, 'labels.csv')],
  ]);
  expect(enrolled.status, enrolled.stderr).toBe(0);
  // The hospital's orchestrator, configured in agent.json as an operator would.
  const settingsFile = join(stateDir, 'agent.json');
  const settings = JSON.parse(readFileSync(settingsFile, 'utf8'));
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/cairn`;
  writeFileSync(settingsFile, JSON.stringify({ ...settings, rolloutWebhook: { url, secret: SECRET } }));
  return stateDir;
}

let agentState: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-governance-'));
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const signature = req.headers[SIGNATURE_HEADER];
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: signature as string });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  cloud = await startCloudProcess(join(dir, 'cloud'));
  admin = readFileSync(cloud.adminTokenPath, 'utf8').trim();
  await api('POST', '/v1/regions', admin, { id: 'north', name: 'North' });
  await api('POST', '/v1/regions', admin, { id: 'south', name: 'South' });
  await api('POST', '/v1/sites', admin, { id: 'site-a', regionId: 'north', name: 'A' });
  await api('POST', '/v1/sites', admin, { id: 'site-b', regionId: 'north', name: 'B' });
  await api('POST', '/v1/sites', admin, { id: 'site-c', regionId: 'south', name: 'C' });
  await api('POST', '/v1/vendors', admin, { id: 'acme', name: 'Acme' });
  vendor = (await api('POST', '/v1/tokens', admin, { role: 'vendor', vendorId: 'acme', label: 'v' })).token;
  for (const [which, version] of [
    ['v1', '1.0.0'],
    ['v2', '2.0.0'],
  ] as const) {
    const form = modelUploadForm(testManifest({ version }), fakeOnnx(which));
    v[which] = { ...(await api('POST', '/v1/models', vendor, form)), version };
  }
  writeFileSync(join(dir, 'criteria.json'), JSON.stringify(CRITERIA));
  const created = JSON.parse(
    await ok([
      ...['campaign', 'create', '--name', 'Governed', '--min-cell', '3', '--output', 'json'],
      ...['--models', `${v.v1.modelId},${v.v2.modelId}`, '--sites', 'site-a,site-b,site-c'],
      ...['--criteria', join(dir, 'criteria.json')],
    ]),
  );
  campaignId = created.campaignId;
  await sendReports(created.jobs, { 'v1/site-a': 16, 'v1/site-c': 8, 'v2/site-a': 17, 'v2/site-c': 17 });
  const person = async (name: 'alice' | 'aliceAgain' | 'bob', args: string[]) => {
    people[name] = JSON.parse(await ok(['token', 'create', ...args, '--output', 'json'])).token;
  };
  await Promise.all([
    person('alice', ['--role', 'coordinator', '--person', 'alice']),
    person('aliceAgain', ['--role', 'admin', '--person', 'alice']),
    person('bob', ['--role', 'admin', '--person', 'bob']),
  ]);
  agentState = await enrollAgent();
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  await new Promise((resolve) => hook?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const states = async () =>
  JSON.parse(await ok(['rollout', 'list', '--output', 'json'])).rollouts.map(
    (r: Loose) => `${r.version}/${r.regionId}/${r.state}`,
  );
const notices = () =>
  received.map((r) => {
    expect(r.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`);
    const n = JSON.parse(r.body) as Loose;
    return `${n.rollout.version}/${n.rollout.regionId}: ${n.from} -> ${n.to}`;
  });

describe('governance end to end', () => {
  it('verdicts set the rollouts; four eyes, a concession, a suspension seen by the agent, a reinstatement', async () => {
    const comparison = JSON.parse(
      await ok(['campaign', 'compare', '--campaign', campaignId, '--output', 'json']),
    );
    const verdicts = comparison.models.flatMap((m: Loose) =>
      m.regions.map((r: Loose) => `${m.version}/${r.region}/${r.verdict.verdict}`),
    );
    expect(verdicts).toEqual([
      '1.0.0/north/pass',
      '1.0.0/south/fail',
      '2.0.0/north/pass',
      '2.0.0/south/pass',
    ]);
    expect((await states()).sort()).toEqual([
      '1.0.0/north/recommended',
      '1.0.0/south/not-recommended',
      '2.0.0/north/recommended',
      '2.0.0/south/recommended',
    ]);

    const byVendor = await rollout(vendor, 'v2', 'north', 'approve', ['--reason', 'ours passes']);
    expect(byVendor.lines).toEqual([
      expect.stringMatching(/^cairn: cloud refused \(403 decision-not-allowed\)/),
    ]);
    expect((await rollout(people.alice, 'v2', 'north', 'approve', ['--reason', 'passes'])).status).toBe(0);
    const self = await rollout(people.aliceAgain, 'v2', 'north', 'confirm', ['--reason', 'me again']);
    expect(self.lines).toEqual([expect.stringMatching(/^cairn: cloud refused \(409 same-person\)/)]);
    const confirmed = await rollout(people.bob, 'v2', 'north', 'confirm', ['--reason', 'agreed']);
    expect(confirmed.stdout).toContain('  approved');

    const noConcession = await rollout(people.alice, 'v1', 'south', 'approve', ['--reason', 'needed']);
    expect(noConcession.lines).toEqual([
      expect.stringMatching(/^cairn: cloud refused \(409 concession-required\)/),
    ]);
    const concession = 'no other device for the south until v2 is installed';
    const conceded = ['--reason', 'bridge', '--concession', concession];
    expect((await rollout(people.alice, 'v1', 'south', 'approve', conceded)).status).toBe(0);
    expect((await rollout(people.bob, 'v1', 'south', 'confirm', ['--reason', 'agreed'])).status).toBe(0);
    const shown = await ok(['rollout', 'show', '--model', v.v1.modelId, '--region', 'south']);
    expect(shown).toContain(`under concession: ${concession}`);
    expect(shown).toMatch(/approve not-recommended -> not-recommended by alice .*; concession: /);

    expect((await rollout(people.alice, 'v2', 'north', 'deploy', ['--reason', 'go live'])).status).toBe(0);
    const poll = async () => {
      const r = await runCairn(['agent', 'run', '--state', agentState, '--once']);
      expect(r.status, r.stderr).toBe(0);
    };
    await poll();
    expect(notices()).toContain('2.0.0/north: null -> deployed');
    expect((await rollout(people.bob, 'v2', 'north', 'suspend', ['--reason', 'drift alert'])).status).toBe(0);
    await poll();
    expect(notices().at(-1)).toBe('2.0.0/north: deployed -> suspended');
    const [statusJson, statusText] = await Promise.all([
      runCairn(['agent', 'status', '--state', agentState, '--output', 'json']),
      runCairn(['agent', 'status', '--state', agentState]),
    ]);
    const seen = JSON.parse(statusJson.stdout).rollouts.map((r: Loose) => `${r.version}/${r.state}`);
    expect(seen.sort()).toEqual(['1.0.0/recommended', '2.0.0/suspended']);
    expect(statusText.stdout).toContain('rollout acme/chest-xray@2.0.0 in north: suspended');

    const reinstateAlone = await rollout(people.alice, 'v2', 'north', 'reinstate', ['--reason', 'explained']);
    expect(reinstateAlone.stdout).toContain('  suspended');
    const again = await rollout(people.aliceAgain, 'v2', 'north', 'confirm', ['--reason', 'me']);
    expect(again.lines).toEqual([expect.stringMatching(/^cairn: cloud refused \(409 same-person\)/)]);
    const reinstated = await rollout(people.bob, 'v2', 'north', 'confirm', ['--reason', 'checked']);
    expect(reinstated.stdout).toContain('  deployed');
    await poll();
    expect(notices().at(-1)).toBe('2.0.0/north: suspended -> deployed');

    const audit = await runCairn(['audit', 'verify', '--data', join(dir, 'cloud')]);
    expect(audit.status, audit.stdout + audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(/^audit log intact: /);
    const out = join(dir, 'v2.json');
    await ok(['report', 'export', '--model', v.v2.modelId, '--format', 'json', '--out', out]);
    const trail = JSON.parse(readFileSync(out, 'utf8')).governance.find((g: Loose) => g.region === 'north');
    expect(trail.state).toBe('deployed');
    expect(trail.events.map((e: Loose) => e.action)).toEqual([
      'recommend',
      'approve',
      'confirm-approval',
      'deploy',
      'suspend',
      'reinstate',
      'confirm-reinstatement',
    ]);
  }, 180_000);
});
