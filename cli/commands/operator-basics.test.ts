import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sentLog } from '../../edge-agent/state/schema.ts';
import { openAgentState } from '../../edge-agent/state/store.ts';
import {
  call,
  fakeOnnx,
  modelUploadForm,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
  testManifest,
} from '../../functions/test-fixtures.ts';
import { canonicalJson } from '../../schemas/canonical-json.ts';
import { runCairn } from '../../test/support/cli-runner.ts';
import { CAIRN_BIN } from '../demo/cloud-process.ts';

/** The operator's everyday commands against a real cloud over HTTP, and the one-line answers to mistakes. */

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let server: ReturnType<typeof serve>;
let url: string;
beforeAll(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  server = await new Promise((resolve) => {
    const s = serve({ fetch: cloud.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  cloud.close();
});

const asAdmin = (args: string[]) => runCairn([...args, '--cloud', url, '--token', cloud.adminToken]);
const oneLine = (r: { stderr: string }) => r.stderr.trim().split('\n');

describe('list commands', () => {
  it('region, site and vendor list show what the caller can see (text and json)', async () => {
    const regions = await asAdmin(['region', 'list']);
    expect(regions.status, regions.stderr).toBe(0);
    expect(regions.stdout.trim().split('\n')).toEqual(['north  North', 'south  South']);

    const north = await runCairn(['site', 'list', '--cloud', url, '--token', net.northToken]);
    expect(north.stdout.trim().split('\n')).toEqual([
      'site-a  north  Hospital A',
      'site-b  north  Hospital B',
    ]);
    const south = await asAdmin(['site', 'list', '--region', 'south', '--output', 'json']);
    expect(JSON.parse(south.stdout).sites.map((s: { id: string }) => s.id)).toEqual(['site-c']);

    const vendors = await asAdmin(['vendor', 'list', '--output', 'json']);
    expect(JSON.parse(vendors.stdout).vendors.map((v: { id: string }) => v.id)).toEqual(['acme', 'globex']);
  });

  it('token create prints the token id with the secret; token list shows scope and state, never a secret', async () => {
    const created = await asAdmin([
      'token',
      'create',
      '--role',
      'coordinator',
      '--regions',
      'south',
      '--label',
      'sam',
    ]);
    expect(created.status, created.stderr).toBe(0);
    const [secret, note] = created.stdout.trim().split('\n');
    const id = /token (tok_[A-Za-z0-9_-]+)/.exec(note ?? '')?.[1];
    expect(secret).toMatch(/^cairn_/);
    expect(id).toBeDefined();
    expect((await asAdmin(['token', 'revoke', '--id', id!])).status).toBe(0);

    const listed = await asAdmin(['token', 'list']);
    expect(listed.status, listed.stderr).toBe(0);
    const line = listed.stdout.split('\n').find((l) => l.startsWith(id!));
    expect(line).toMatch(/coordinator +regions south +revoked \d{4}-.* +sam$/);
    expect(listed.stdout).toMatch(/vendor +vendor acme +no expiry/);
    expect(listed.stdout).toMatch(/site +site site-a +no expiry/);
    for (const s of [secret!, cloud.adminToken, net.acmeToken, net.siteA.token])
      expect(listed.stdout).not.toContain(s);

    const byCoordinator = await runCairn(['token', 'list', '--cloud', url, '--token', net.northToken]);
    expect(oneLine(byCoordinator)).toEqual([
      expect.stringMatching(/^cairn: cloud refused \(403 forbidden\)/),
    ]);
  });

  it('model list and the comparison order versions by semver precedence: 1.9.0 before 1.10.0', async () => {
    const modelIds: string[] = [];
    for (const version of ['1.10.0', '1.9.0', '1.10.0-rc.1']) {
      const r = await call(cloud, 'POST', '/v1/models', {
        token: net.acmeToken,
        body: modelUploadForm(testManifest({ name: 'ordering', version }), fakeOnnx(version)),
      });
      expect(r.status).toBe(201);
      modelIds.push(r.body.modelId);
    }
    const r = await runCairn(['model', 'list', '--cloud', url, '--token', net.acmeToken]);
    const versions = r.stdout
      .split('\n')
      .filter((l) => l.includes('acme/ordering'))
      .map((l) => l.split(' ').at(-1));
    expect(versions).toEqual(['1.9.0', '1.10.0-rc.1', '1.10.0']);

    const campaign = await call(cloud, 'POST', '/v1/campaigns', {
      token: cloud.adminToken,
      json: { name: 'ordering', minCell: 3, modelIds, siteIds: ['site-a'] },
    });
    const comparison = await call(cloud, 'GET', `/v1/campaigns/${campaign.body.campaignId}/comparison`, {
      token: cloud.adminToken,
    });
    expect(comparison.body.models.map((m: { version: string }) => m.version)).toEqual(versions);
  });
});

describe('mistakes get one clear line', () => {
  it('`--version` prints the package version', async () => {
    const r = await runCairn(['--version']);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('`--output` other than text or json → one line naming the choices', async () => {
    const r = await asAdmin(['region', 'list', '--output', 'yaml']);
    expect(r.status).not.toBe(0);
    expect(oneLine(r)).toEqual([
      expect.stringMatching(/'yaml' is invalid\. Allowed choices are text, json\.$/),
    ]);
  });

  it('a malformed --cloud URL → one line, no internal error', async () => {
    for (const bad of ['127.0.0.1:8787', 'ftp://example.org', 'http//x']) {
      const r = await runCairn(['region', 'list', '--cloud', bad, '--token', cloud.adminToken]);
      expect(r.status).toBe(2);
      expect(oneLine(r)).toEqual([`cairn: --cloud: not an http(s) URL: ${JSON.stringify(bad)}`]);
    }
  });

  it('a wrong, malformed or revoked token → "the cloud refused the token", not missing-token', async () => {
    const revoked = await call(cloud, 'POST', '/v1/tokens', {
      token: cloud.adminToken,
      json: { role: 'coordinator', label: 'gone' },
    });
    await call(cloud, 'POST', `/v1/tokens/${revoked.body.id}/revoke`, { token: cloud.adminToken });
    for (const token of ['cairn_wrongwrongwrongwrongwrong', 'not-even-a-token', revoked.body.token]) {
      const r = await runCairn(['region', 'list', '--cloud', url, '--token', token]);
      expect(r.status).toBe(1);
      expect(oneLine(r)).toEqual(['cairn: the cloud refused the token: unknown or revoked token']);
    }
  });

  it('the Authorization scheme is case-insensitive (bearer, BEARER)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer'])
      expect(
        (
          await cloud.app.request('/v1/regions', {
            headers: { authorization: `${scheme} ${cloud.adminToken}` },
          })
        ).status,
      ).toBe(200);
    const basic = await call(cloud, 'GET', '/v1/regions', { headers: { authorization: 'Basic abc' } });
    expect(basic.body.error.code).toBe('missing-token');
  });
});

describe('cairn agent sent', () => {
  it('shows each envelope with its payload decoded, as the site signed it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-sent-'));
    try {
      const report = siteReport(net.acmeIds('site-a'));
      const envelope = signEnvelope(net.siteA, report);
      await logSent(dir, envelope, 1);
      const text = await runCairn(['agent', 'sent', '--state', dir]);
      expect(text.status, text.stderr).toBe(0);
      expect(text.stdout).toContain(`payload (the signed report, decoded): ${canonicalJson(report)}`);
      const json = await runCairn(['agent', 'sent', '--state', dir, '--output', 'json']);
      const [row] = JSON.parse(json.stdout);
      expect(row.payload).toEqual(report);
      expect(JSON.parse(row.body).signature).toBe(envelope.signature);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('piped into `head -1`, ends quietly when the reader goes (no EPIPE stack trace)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-pipe-'));
    try {
      // Megabytes of output: far more than a pipe holds once `head` has gone.
      await logSent(dir, signEnvelope(net.siteA, siteReport(net.acmeIds('site-a'))), 500);
      const piped = spawnSync(
        'sh',
        ['-c', `"${process.execPath}" "${CAIRN_BIN}" agent sent --state "${dir}" --limit 500 | head -1`],
        { encoding: 'utf8' },
      );
      expect(piped.stdout).toMatch(/ POST .*\/v1\/reports → 202\n$/);
      expect(piped.stderr).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Sent-log rows as the agent writes them: the request body base64, exactly as sent. */
async function logSent(dir: string, envelope: unknown, copies: number): Promise<void> {
  const state = await openAgentState(dir);
  try {
    const row = {
      at: new Date().toISOString(),
      method: 'POST',
      url: `${url}/v1/reports`,
      body: Buffer.from(JSON.stringify(envelope)).toString('base64'),
      status: 202,
    };
    await state.db.insert(sentLog).values(Array.from({ length: copies }, () => row));
  } finally {
    state.close();
  }
}
