import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asc } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileLog } from '../../infra/operational-log.ts';
import { CAIRN_BIN } from '../../test/support/cli-runner.ts';
import { auditLog, regions } from '../db/schema.ts';
import { drainReportBatch } from '../ingest/embedded.ts';
import {
  call,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
} from '../test-fixtures.ts';
import { appendAudit, commitAudited } from './append.ts';
import { verifyAuditData } from './verify-data.ts';

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
});
afterEach(() => cloud.close());

const rows = () => cloud.deps.db.select().from(auditLog).orderBy(asc(auditLog.seq));
const sql = (statement: string) => cloud.deps.db.$client.execute(statement);

describe('the audit log', () => {
  it('records every state change of a network being built, in one intact chain', async () => {
    const accepted = siteReport(net.acmeIds('site-a'));
    expect(
      (
        await call(cloud, 'POST', '/v1/reports', {
          token: net.siteA.token,
          json: signEnvelope(net.siteA, accepted),
        })
      ).status,
    ).toBe(202);
    const replay = await call(cloud, 'POST', '/v1/reports', {
      token: net.siteA.token,
      json: signEnvelope(net.siteA, accepted),
    });
    expect(replay.status).toBe(409);
    await drainReportBatch(cloud.deps);

    const actions = (await rows()).map((r) => r.action);
    for (const action of [
      'region.created',
      'site.created',
      'vendor.created',
      'token.issued',
      'model.submitted',
      'campaign.created',
      'enrollment-token.issued',
      'site.enrolled',
      'report.queued',
      'report.refused',
      'report.accepted',
    ])
      expect(actions).toContain(action);
    const refused = (await rows()).find((r) => r.action === 'report.refused');
    expect(JSON.parse(refused?.detail ?? '{}')).toEqual({ code: 'duplicate-report', status: 409 });
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: true, entries: actions.length });
  });

  it('holds ids and codes only: no token, no display name, no report content', async () => {
    const text = JSON.stringify(await rows());
    for (const secret of [
      cloud.adminToken,
      net.acmeToken,
      net.siteA.token,
      'Hospital A',
      'Acme Imaging',
      'acme ci',
    ])
      expect(text).not.toContain(secret);
  });

  it('stays one chain when many writers append at once', async () => {
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        appendAudit(cloud.deps, { actor: 'system', action: 'region.created', target: `r${i}` }),
      ),
    );
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: true });
  });

  it('loses no entry when more writers append at once than a writer retries (one process)', async () => {
    // Each round of a retry race has one winner: 50 tries must not cap a process at 50 concurrent writers.
    const before = (await rows()).length;
    const results = await Promise.allSettled(
      Array.from({ length: 120 }, (_, i) =>
        i % 2
          ? appendAudit(cloud.deps, { actor: 'system', action: 'report.queued', target: `q${i}` })
          : commitAudited(
              cloud.deps,
              () =>
                [
                  cloud.deps.db.insert(regions).values({ id: `c${i}`, name: 'C', createdAt: new Date(0) }),
                ] as const,
              { actor: 'system', action: 'region.created', target: `c${i}` },
            ),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect((await rows()).length - before).toBe(120);
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: true });
  });

  it('stays one chain, with every entry, when two processes write one database at once', async () => {
    const before = (await rows()).length;
    const worker = fileURLToPath(new URL('./audit.worker.ts', import.meta.url));
    const url = `file:${join(cloud.dir, 'cairn.db')}`;
    const results = await Promise.all(
      ['p1', 'p2'].map(
        (name) =>
          new Promise<{ code: number | null; stderr: string }>((resolve) => {
            const child = spawn(process.execPath, ['--import', 'tsx', worker, url, name, '150'], {
              stdio: ['ignore', 'ignore', 'pipe'],
            });
            let stderr = '';
            child.stderr.on('data', (d) => {
              stderr += d;
            });
            child.on('close', (code) => resolve({ code, stderr }));
          }),
      ),
    );
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    expect((await rows()).length - before).toBe(300);
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: true });
  });

  it('records a change in the same transaction: when the entry cannot be written, the change is undone', async () => {
    // Stands in for a crash or a full disk between the change and its entry.
    await sql(
      "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    const created = await call(cloud, 'POST', '/v1/regions', {
      token: cloud.adminToken,
      json: { id: 'far-north', name: 'North' },
    });
    expect(created.status).toBe(500);
    const stored = await sql("SELECT id FROM regions WHERE id = 'far-north'");
    expect(stored.rows).toHaveLength(0);
    await sql('DROP TRIGGER refuse_audit');
    expect(
      (
        await call(cloud, 'POST', '/v1/regions', {
          token: cloud.adminToken,
          json: { id: 'far-north', name: 'North' },
        })
      ).status,
    ).toBe(201);
    expect(
      (await rows()).filter((r) => r.action === 'region.created' && r.target === 'far-north'),
    ).toHaveLength(1);
  });

  it('answers a committed change as done even when its head cannot be logged', async () => {
    const write = cloud.deps.log.write;
    cloud.deps.log.write = (entry) => {
      if (entry.event === 'audit') throw new Error('ENOSPC: no space left on device');
      write(entry);
    };
    try {
      const created = await call(cloud, 'POST', '/v1/regions', {
        token: cloud.adminToken,
        json: { id: 'west', name: 'West' },
      });
      expect(created.status).toBe(201);
    } finally {
      cloud.deps.log.write = write;
    }
    expect((await rows()).filter((r) => r.target === 'west').map((r) => r.action)).toEqual([
      'region.created',
    ]);
  });

  it('records one entry per change when requests race, and none for the change that lost', async () => {
    const before = (await rows()).length;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(cloud, 'POST', '/v1/regions', {
          token: cloud.adminToken,
          json: { id: `r${i % 10}`, name: `Region ${i}` },
        }),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(10);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(10);
    const added = (await rows()).slice(before);
    expect(added.map((r) => r.target).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`).sort());
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: true });
  });

  it('names the first broken link when a row is changed through SQL', async () => {
    await sql("UPDATE audit_log SET target = 'someone-else' WHERE seq = 3");
    expect(await verifyAuditData(cloud.dir)).toMatchObject({
      ok: false,
      brokenAt: 3,
      reason: expect.stringMatching(/was changed/),
    });
  });

  it('detects a row changed and re-hashed (the next link no longer matches)', async () => {
    const [third] = (await rows()).filter((r) => r.seq === 3);
    const { auditRowHash } = await import('./chain.ts');
    const forged = auditRowHash(third!.prevHash, {
      seq: 3,
      at: third!.at.getTime(),
      actor: third!.actor,
      action: third!.action,
      target: 'forged',
      detail: JSON.parse(third!.detail),
    });
    await sql(`UPDATE audit_log SET target = 'forged', hash = '${forged}' WHERE seq = 3`);
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: false, brokenAt: 4 });
  });

  it('detects a deleted row', async () => {
    await sql('DELETE FROM audit_log WHERE seq = 5');
    expect(await verifyAuditData(cloud.dir)).toMatchObject({
      ok: false,
      brokenAt: 6,
      reason: expect.stringMatching(/#5 is missing/),
    });
  });

  it('detects rows cut from the end against the heads the operational log recorded', async () => {
    const lines = cloud.deps.log.entries.filter((e) => e.event === 'audit').map((e) => JSON.stringify(e));
    mkdirSync(join(cloud.dir, 'logs'), { recursive: true });
    writeFileSync(join(cloud.dir, 'logs', 'cloud.log'), `${lines.join('\n')}\n`);
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: true });
    const last = (await rows()).at(-1)!.seq;
    await sql(`DELETE FROM audit_log WHERE seq >= ${last - 1}`);
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: false, brokenAt: last });
  });

  it('keeps the newest head through log rotation, however many files were dropped', async () => {
    const log = createFileLog(join(cloud.dir, 'logs', 'cloud.log'), { maxBytes: 4096, keep: 2 });
    for (const entry of cloud.deps.log.entries.filter((e) => e.event === 'audit')) log.write(entry);
    for (let i = 0; i < 500; i++)
      log.write({
        time: new Date(0).toISOString(),
        event: 'request',
        method: 'GET',
        route: '/v1/jobs',
        status: 200,
      });
    const files = readdirSync(join(cloud.dir, 'logs')).sort();
    expect(files).toEqual(['cloud.log', 'cloud.log.1', 'cloud.log.2']);
    for (const f of files) expect(statSync(join(cloud.dir, 'logs', f)).size).toBeLessThanOrEqual(4096);
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: true });
    const last = (await rows()).at(-1)!.seq;
    await sql(`DELETE FROM audit_log WHERE seq = ${last}`);
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: false, brokenAt: last });
  });

  it('`cairn audit verify --data DIR` exits 0 on an intact chain and 1 naming the broken entry', async () => {
    const ok = spawnSync(process.execPath, [CAIRN_BIN, 'audit', 'verify', '--data', cloud.dir], {
      encoding: 'utf8',
    });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^audit log intact: \d+ entries; head #\d+ [0-9a-f]{64}/);
    await sql("UPDATE audit_log SET actor = 'system' WHERE seq = 2");
    const bad = spawnSync(process.execPath, [CAIRN_BIN, 'audit', 'verify', '--data', cloud.dir], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toMatch(/^cairn: audit log broken at entry #2: /);
  });
});
