import type { Client, InStatement, Transaction, TransactionMode } from '@libsql/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drainReportBatch } from '../ingest/embedded.ts';
import {
  call,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
} from '../test-fixtures.ts';

/**
 * Every statement the cloud runs on its hot paths — a report's submission and ingest, an agent's poll and job
 * status, a coordinator's comparison, token checks on each request — is found through an index: none scans a
 * table whose size grows with the network. The statements are the ones the real routes run (recorded off the
 * real libSQL client), each asked for its plan with `EXPLAIN QUERY PLAN`, so a new query without an index
 * fails here rather than at 10 000 reports.
 */

interface Recorded {
  sql: string;
  args: unknown;
}

/** Records every statement sent through `client`, transactions and batches included; the client still runs them. */
function recordStatements(client: Client): { statements: Recorded[]; stop(): void } {
  const statements: Recorded[] = [];
  let on = true;
  const note = (stmt: InStatement) => {
    if (!on) return;
    statements.push(typeof stmt === 'string' ? { sql: stmt, args: [] } : { sql: stmt.sql, args: stmt.args });
  };
  const execute = client.execute.bind(client);
  const batch = client.batch.bind(client);
  const transaction = client.transaction.bind(client);
  const c = client as unknown as Record<string, unknown>;
  c.execute = (stmt: InStatement, args?: unknown) => {
    note(args === undefined ? stmt : ({ sql: stmt as string, args } as InStatement));
    return (execute as (s: InStatement, a?: unknown) => unknown)(stmt, args);
  };
  c.batch = (stmts: InStatement[], mode?: Parameters<Client['batch']>[1]) => {
    for (const s of stmts) note(s);
    return batch(stmts, mode);
  };
  c.transaction = async (mode?: TransactionMode) => {
    const tx: Transaction = await transaction(mode);
    const txExecute = tx.execute.bind(tx);
    const txBatch = tx.batch.bind(tx);
    const t = tx as unknown as Record<string, unknown>;
    t.execute = (stmt: InStatement) => {
      note(stmt);
      return txExecute(stmt);
    };
    t.batch = (stmts: InStatement[]) => {
      for (const s of stmts) note(s);
      return txBatch(stmts);
    };
    return tx;
  };
  return {
    statements,
    stop() {
      on = false;
    },
  };
}

/** The tables that grow with the network (sites × models × weeks); the others hold tens of rows. */
const GROWING = [
  'reports',
  'report_receipts',
  'report_refusals',
  'nonces',
  'jobs',
  'audit_log',
  'queue_messages',
  'api_tokens',
  'site_keys',
  'models',
  'campaign_models',
];

/** `SCAN t` lines of a statement's plan for a growing table (a SEARCH through an index is what we want). */
async function scansOf(client: Client, r: Recorded): Promise<string[]> {
  const plan = await client.execute({
    sql: `EXPLAIN QUERY PLAN ${r.sql}`,
    args: r.args as never,
  });
  return plan.rows
    .map((row) => String(row.detail))
    .filter((detail) => {
      const m = /^SCAN (\w+)/.exec(detail);
      return m !== null && GROWING.includes(m[1] as string);
    });
}

function expectStatus(r: { status: number }, status: number, what: string) {
  expect({ what, status: r.status }).toEqual({ what, status });
}

/**
 * The audit chain's head: `order by seq desc limit 1` on the INTEGER PRIMARY KEY is planned as `SCAN` but
 * reads one row from the end of the rowid b-tree.
 */
const NEWEST_FIRST_BY_ROWID =
  /^select "seq", "hash" from "audit_log" order by "audit_log"\."seq" desc limit \?$/;

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
});
afterEach(() => cloud.close());

describe('hot-path statements use indexes', () => {
  it('submission, ingest, the agent poll and status, and the comparison scan no growing table', async () => {
    const recorder = recordStatements(cloud.deps.db.$client);
    for (const [signer, siteId] of [
      [net.siteA, 'site-a'],
      [net.siteC, 'site-c'],
    ] as const) {
      const jobs = await call(cloud, 'GET', '/v1/jobs', { token: signer.token });
      expectStatus(jobs, 200, 'GET /v1/jobs');
      const ids = net.acmeIds(siteId);
      expectStatus(
        await call(cloud, 'POST', `/v1/jobs/${ids.jobId}/status`, {
          token: signer.token,
          json: { jobId: ids.jobId, attempt: 1, status: 'running' },
        }),
        200,
        'POST /v1/jobs/:id/status',
      );
      const envelope = signEnvelope(signer, siteReport(ids));
      const submitted = await call(cloud, 'POST', '/v1/reports', { token: signer.token, json: envelope });
      expectStatus(submitted, 202, 'POST /v1/reports');
      // A replay is refused too (its nonce is known): that path is hot under retries.
      const replayed = await call(cloud, 'POST', '/v1/reports', { token: signer.token, json: envelope });
      expectStatus(replayed, 409, 'POST /v1/reports (replay)');
    }
    await drainReportBatch(cloud.deps);
    const comparison = await call(cloud, 'GET', `/v1/campaigns/${net.campaign.campaignId}/comparison`, {
      token: net.northToken,
    });
    expectStatus(comparison, 200, 'GET comparison');
    recorder.stop();

    const reads = recorder.statements.filter((s) => /^\s*(select|update|delete|with)\b/i.test(s.sql));
    // The flow really ran the report path (receipts, nonces, the stored report, the job).
    expect(reads.length).toBeGreaterThan(20);
    for (const table of ['reports', 'jobs', 'nonces', 'queue_messages', 'api_tokens', 'audit_log'])
      expect({ table, read: reads.some((s) => s.sql.includes(`"${table}"`)) }).toEqual({ table, read: true });

    const offenders: string[] = [];
    for (const r of reads) {
      if (NEWEST_FIRST_BY_ROWID.test(r.sql)) continue;
      const scans = await scansOf(cloud.deps.db.$client, r);
      if (scans.length) offenders.push(`${scans.join(', ')} ← ${r.sql}`);
    }
    expect([...new Set(offenders)]).toEqual([]);
  });
});
