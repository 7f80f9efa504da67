import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCairn } from '../test/support/cli-runner.ts';
import { type ServedCloud, serveCloud } from './serve.ts';
import { LOCK_FILE } from './serve-lock.ts';
import {
  fakeOnnx,
  type Loose,
  modelUploadForm,
  signEnvelope,
  siteKeyPair,
  siteReport,
  testManifest,
} from './test-fixtures.ts';

let dataDir: string;
const running: ServedCloud[] = [];
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'cairn-serve-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.close()));
  rmSync(dataDir, { recursive: true, force: true });
});

async function start() {
  const cloud = await serveCloud({ dataDir, ingest: { pollMs: 50 } });
  running.push(cloud);
  return cloud;
}

function client(base: string, token?: string) {
  return async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: RequestInit['body'];
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(new URL(path, base), { method, headers, body: payload });
    return { status: res.status, body: (await res.json()) as Loose };
  };
}

describe('serveCloud', () => {
  it('serves the API over HTTP, ingests in-process, and keeps its data and admin token across restarts', async () => {
    const first = await start();
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(statSync(first.adminTokenPath).mode & 0o777).toBe(0o600);
    const adminToken = readFileSync(first.adminTokenPath, 'utf8').trim();
    const admin = client(first.url, adminToken);

    expect((await admin('POST', '/v1/regions', { id: 'north', name: 'Secret Region Name' })).status).toBe(
      201,
    );
    expect((await admin('POST', '/v1/sites', { id: 'site-a', regionId: 'north', name: 'A' })).status).toBe(
      201,
    );
    expect((await admin('POST', '/v1/vendors', { id: 'acme', name: 'Acme' })).status).toBe(201);
    const model = await admin('POST', '/v1/models', modelUploadForm(testManifest(), fakeOnnx()));
    expect(model.status).toBe(201);
    const campaign = await admin('POST', '/v1/campaigns', {
      name: 'c',
      modelIds: [model.body.modelId],
      siteIds: ['site-a'],
      minCell: 3,
    });
    const enrollment = await admin('POST', '/v1/sites/site-a/enrollment-tokens', {});
    const keys = siteKeyPair();
    const enrolled = await client(first.url)('POST', '/v1/enroll', {
      token: enrollment.body.token,
      publicKey: keys.publicKeyRaw,
      agentVersion: '0.1.0',
    });
    expect(enrolled.status).toBe(201);
    const site = client(first.url, enrolled.body.apiToken);
    const [job] = (await site('GET', '/v1/jobs')).body.jobs;
    const report = siteReport({
      campaignId: campaign.body.campaignId,
      jobId: job.jobId,
      siteId: 'site-a',
      model: { vendor: 'acme', name: 'chest-xray', version: '1.0.0', sha256: model.body.sha256 },
    });
    const signer = { siteId: 'site-a', keyId: enrolled.body.keyId, privateKey: keys.privateKey };
    const sent = await site('POST', '/v1/reports', signEnvelope(signer, report, { timestamp: new Date() }));
    expect(sent.status).toBe(202);

    // The send kicks the in-process consumer; the status flips without waiting for a poll interval.
    let status = 'queued';
    for (let i = 0; i < 100 && status !== 'accepted'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = (await site('GET', `/v1/reports/${report.reportId}`)).body.status;
    }
    expect(status).toBe('accepted');
    expect((await admin('GET', '/v1/regions?filter=SecretQueryValue')).status).toBe(200);
    await first.close();

    const second = await start();
    expect(readFileSync(second.adminTokenPath, 'utf8').trim()).toBe(adminToken);
    const again = client(second.url, adminToken);
    expect((await again('GET', '/v1/regions')).body.regions.map((r: { id: string }) => r.id)).toEqual([
      'north',
    ]);
    expect((await again('GET', `/v1/campaigns/${campaign.body.campaignId}`)).body.jobs[0].status).toBe(
      'done',
    );
    await second.close();

    const log = readFileSync(join(dataDir, 'logs', 'cloud.log'), 'utf8');
    const entries = log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(entries.some((e) => e.route === '/v1/reports' && e.status === 202)).toBe(true);
    expect(entries.some((e) => e.event === 'ingest' && e.code === 'stored')).toBe(true);
    for (const secret of [
      adminToken,
      enrolled.body.apiToken,
      'Secret Region Name',
      'SecretQueryValue',
      'cairn_',
    ]) {
      expect(log).not.toContain(secret);
    }
  });

  it('refuses to start when the admin-token file outlived its database', async () => {
    const first = await start();
    await first.close();
    running.splice(0);
    for (const f of ['cairn.db', 'cairn.db-wal', 'cairn.db-shm']) rmSync(join(dataDir, f), { force: true });
    await expect(serveCloud({ dataDir })).rejects.toThrow(
      /admin-token holds a token this database does not know/,
    );
  });
});

describe('serveCloud hygiene', () => {
  it('one cloud per data folder: a second start gets one clear error, the first keeps serving', async () => {
    const first = await start();
    await expect(serveCloud({ dataDir })).rejects.toThrow(
      new RegExp(`is already served by another cairn cloud \\(pid ${process.pid}\\)`),
    );
    const token = readFileSync(first.adminTokenPath, 'utf8').trim();
    expect((await client(first.url, token)('GET', '/v1/regions')).status).toBe(200);
    await first.close();
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  });

  it('takes over a stale lock left by a process that is gone', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dataDir, LOCK_FILE), `${dead}\n`);
    const cloud = await start();
    expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    await cloud.close();
  });

  it('a start that fails (port in use) leaves no data folder, database or admin token behind', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const fresh = join(dataDir, 'new-cloud');
      await expect(serveCloud({ dataDir: fresh, port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(existsSync(fresh)).toBe(false);
      // An existing, empty folder stays, and stays empty.
      await expect(serveCloud({ dataDir, port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('keeps the data folder 0700 and the database files 0600', async () => {
    const cloud = await start();
    const token = readFileSync(cloud.adminTokenPath, 'utf8').trim();
    expect((await client(cloud.url, token)('POST', '/v1/regions', { id: 'north', name: 'N' })).status).toBe(
      201,
    );
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    const files = ['cairn.db', 'cairn.db-wal', 'cairn.db-shm', 'admin-token', LOCK_FILE];
    for (const f of files) expect([f, statSync(join(dataDir, f)).mode & 0o777]).toEqual([f, 0o600]);
  });

  it('answers 408 and cuts off a client that sends its body too slowly', async () => {
    const cloud = await serveCloud({ dataDir, requestTimeoutMs: 1000 });
    running.push(cloud);
    const { port } = cloud;
    const token = readFileSync(cloud.adminTokenPath, 'utf8').trim();
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`POST /v1/regions HTTP/1.1\r\nHost: x\r\nauthorization: Bearer ${token}\r\n`);
        socket.write('content-type: application/json\r\n');
        socket.write('content-length: 1000\r\n\r\n{"id":');
      });
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString('utf8');
      });
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('`cairn cloud serve` refusals', () => {
  it('a second serve on a folder in use, or a port in use: one line each, nothing left behind', async () => {
    const first = await start();
    const again = await runCairn(['cloud', 'serve', '--data', dataDir, '--port', '0']);
    expect(again.status).toBe(1);
    expect(again.stderr.trim().split('\n')).toEqual([
      `cairn: ${dataDir} is already served by another cairn cloud (pid ${process.pid}); stop it or pick another --data`,
    ]);
    const fresh = join(dataDir, 'other');
    const taken = await runCairn(['cloud', 'serve', '--data', fresh, '--port', String(first.port)]);
    expect(taken.stderr.trim().split('\n')).toEqual([
      `cairn: port ${first.port} on 127.0.0.1 is already in use; pick another with --port`,
    ]);
    expect(existsSync(fresh)).toBe(false);
  });
});
