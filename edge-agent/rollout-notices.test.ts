import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../functions/audit/hashes.ts';
import { applyVerdict } from '../functions/rollouts/lifecycle.ts';
import { call, type Loose, openTestCloud, seedNetwork, type TestCloud } from '../functions/test-fixtures.ts';
import { runCairn } from '../test/support/cli-runner.ts';
import { AgentSettings, readSettings } from './config.ts';
import { enrollAgent } from './enroll.ts';
import { readKnownRollouts, SIGNATURE_HEADER } from './rollout-notices.ts';
import { runAgent } from './run.ts';

/** A site's agent learns its region's rollout states on each poll and tells the hospital's webhook of each change. */

const SECRET = 'orchestrator-shared-secret';
let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let server: ReturnType<typeof serve>;
let hook: Server;
let dir: string;
let stateDir: string;
let answer = 204;
const received: { body: string; signature: string | undefined }[] = [];
const people: Record<string, string> = {};

beforeAll(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  server = await new Promise((resolve) => {
    const s = serve({ fetch: cloud.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (answer < 300)
        received.push({
          body: Buffer.concat(chunks).toString('utf8'),
          signature: req.headers[SIGNATURE_HEADER] as string,
        });
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  dir = mkdtempSync(join(tmpdir(), 'cairn-rollout-notices-'));
  stateDir = join(dir, 'state');
  mkdirSync(join(dir, 'dicom'));
  writeFileSync(join(dir, 'labels.csv'), 'StudyInstanceUID,label\n1.2.3,1\n');
  const { body: enrolment } = await call(cloud, 'POST', '/v1/sites/site-b/enrollment-tokens', {
    token: cloud.adminToken,
    json: {},
  });
  await enrollAgent({
    stateDir,
    cloudUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: enrolment.token,
    settings: AgentSettings.parse({
      dicom: join(dir, 'dicom'),
      labels: join(dir, 'labels.csv'),
      rolloutWebhook: {
        url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/cairn`,
        secret: SECRET,
      },
    }),
  });
  for (const personId of ['alice', 'bob'])
    people[personId] = (
      await call(cloud, 'POST', '/v1/tokens', {
        token: cloud.adminToken,
        json: { role: 'admin', personId, label: personId },
      })
    ).body.token;
}, 60_000);
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => hook.close(resolve));
  cloud.close();
  rmSync(dir, { recursive: true, force: true });
});

const decide = async (person: string, action: string) => {
  const r = await call(cloud, 'POST', `/v1/rollouts/${net.acmeModel.modelId}/north/${action}`, {
    token: people[person],
    json: { reason: `${action} by ${person}` },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
};
const poll = () => runAgent({ stateDir, once: true });
const notices = () =>
  received.map((r) => {
    const expected = `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`;
    expect(r.signature).toBe(expected);
    const n = JSON.parse(r.body) as Loose;
    return `${n.rollout.name}@${n.rollout.version}/${n.rollout.regionId}: ${n.from} -> ${n.to}`;
  });

describe('rollout notices at the agent', () => {
  it('a deployment, then a suspension, reach agent status and the signed webhook within one poll each', async () => {
    await applyVerdict(cloud.deps, {
      modelId: net.acmeModel.modelId,
      regionId: 'north',
      verdict: 'pass',
      evidenceSha256: sha256Hex('comparison'),
    });
    await decide('alice', 'approve');
    await decide('bob', 'confirm');
    await decide('alice', 'deploy');
    await poll();
    expect(notices()).toEqual(['chest-xray@1.0.0/north: null -> deployed']);

    await decide('bob', 'suspend');
    await poll();
    expect(notices()).toEqual([
      'chest-xray@1.0.0/north: null -> deployed',
      'chest-xray@1.0.0/north: deployed -> suspended',
    ]);
    const status = await runCairn(['agent', 'status', '--state', stateDir, '--output', 'json']);
    expect(status.status, status.stderr).toBe(0);
    const shown = JSON.parse(status.stdout);
    expect(shown.rollouts.map((r: Loose) => `${r.name}/${r.regionId}/${r.state}`).sort()).toEqual([
      'chest-xray/north/suspended',
      'lung/north/evaluating',
    ]);
    expect(shown.rolloutNoticesWaiting).toBe(0);
    const text = await runCairn(['agent', 'status', '--state', stateDir]);
    expect(text.stdout).toContain('rollout acme/chest-xray@1.0.0 in north: suspended');
  }, 60_000);

  it('a rollouts.json cut short stops no poll: the states are learnt again, the notice repeated under its id', async () => {
    const before = JSON.parse(received.at(-1)?.body ?? '{}').noticeId;
    writeFileSync(join(stateDir, 'rollouts.json'), '{"rollouts": [');
    received.length = 0;
    await poll();
    expect(received.map((r) => JSON.parse(r.body).noticeId)).toEqual([before]);
    expect(
      readKnownRollouts(stateDir)
        .rollouts.map((r) => r.state)
        .sort(),
    ).toEqual(['evaluating', 'suspended']);
    received.length = 0;
  }, 60_000);

  it('a notice the webhook refused is sent again on the next poll', async () => {
    answer = 503;
    await decide('alice', 'withdraw');
    await poll();
    expect(readKnownRollouts(stateDir).undelivered.map((n) => n.to)).toEqual(['withdrawn']);
    expect(received).toHaveLength(0);
    answer = 204;
    await poll();
    expect(notices().at(-1)).toBe('chest-xray@1.0.0/north: suspended -> withdrawn');
    expect(readKnownRollouts(stateDir).undelivered).toEqual([]);
  }, 60_000);

  it('a webhook that is not http(s), or a secret too short to sign with, is refused with one line naming the field', () => {
    const bad = join(dir, 'bad-settings');
    mkdirSync(bad, { recursive: true });
    const base = { dicom: join(dir, 'dicom'), labels: join(dir, 'labels.csv') };
    writeFileSync(
      join(bad, 'agent.json'),
      JSON.stringify({ ...base, rolloutWebhook: { url: 'file:///etc/passwd', secret: SECRET } }),
    );
    expect(() => readSettings(bad)).toThrow(/rolloutWebhook\.url/);
    writeFileSync(
      join(bad, 'agent.json'),
      JSON.stringify({ ...base, rolloutWebhook: { url: 'http://127.0.0.1/x', secret: 'short' } }),
    );
    expect(() => readSettings(bad)).toThrow(/rolloutWebhook\.secret/);
  });
});
