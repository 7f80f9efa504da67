import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Http2Bindings, type HttpBindings, serve } from '@hono/node-server';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudApi } from '../../client/cloud-api.ts';
import { enqueueReport, flushOutbox } from '../../edge-agent/outbox.ts';
import { outbox } from '../../edge-agent/state/schema.ts';
import { type AgentDb, openAgentState } from '../../edge-agent/state/store.ts';
import { createCloudApp } from '../../functions/app.ts';
import { nonces, reportReceipts } from '../../functions/db/schema.ts';
import { drainReportBatch } from '../../functions/ingest/embedded.ts';
import { openTestCloud, seedNetwork, siteReport, type TestCloud } from '../../functions/test-fixtures.ts';

/**
 * The cloud answers a report, and the answer never reaches the agent: the connection is cut after the cloud
 * handled the request. The client tries once more at once, and the agent's next flush goes again.
 */

let dir: string;
let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let agent: { db: AgentDb; close(): void };
let server: ReturnType<typeof serve>;
let url: string;
/** How many answers to POST /v1/reports to cut off after the cloud handled the request. */
let cutAnswers = 0;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-lost-answer-'));
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  // The agent signs with the real clock; the cloud's test clock is moved to it.
  cloud.deps.clock.set(new Date());
  agent = await openAgentState(join(dir, 'agent'));
  const app = createCloudApp(cloud.deps);
  server = serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: async (req, env: HttpBindings | Http2Bindings) => {
      const res = await app.fetch(req, env);
      if (req.method === 'POST' && new URL(req.url).pathname === '/v1/reports' && cutAnswers > 0) {
        cutAnswers--;
        env.incoming.socket.destroy();
      }
      return res;
    },
  });
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise((r) => server.close(r));
  agent.close();
  await cloud.close();
  await rm(dir, { recursive: true, force: true });
});

const signer = () => ({
  siteId: 'site-a',
  keyId: net.siteA.keyId,
  privateKeyPkcs8: net.siteA.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
});

async function queuedInOutbox() {
  const report = siteReport(net.acmeIds('site-a'));
  await enqueueReport(agent.db, report, { release: 'auto-approved', rule: 0 });
  return report.reportId;
}

const outboxRow = async (reportId: string) =>
  agent.db.select().from(outbox).where(eq(outbox.reportId, reportId)).get();

describe('a report whose answer is lost', () => {
  it('the client retries it signed afresh (no replayed-nonce), asks the cloud, and counts it sent once', async () => {
    const reportId = await queuedInOutbox();
    cutAnswers = 1;
    const api = new CloudApi(url, net.siteA.token);
    const result = await flushOutbox(agent.db, api, signer());
    expect(result).toMatchObject({ sent: 1, refused: 0, pending: 0 });
    expect(await outboxRow(reportId)).toMatchObject({ status: 'sent', lastError: null });
    // Two envelopes reached the cloud, each with its own nonce; one receipt, one report once ingested.
    expect(await cloud.deps.db.select().from(nonces)).toHaveLength(2);
    expect(await cloud.deps.db.select().from(reportReceipts)).toHaveLength(1);
    await drainReportBatch(cloud.deps);
    const answer = await api.json<{ status: string }>('GET', `/v1/reports/${reportId}/receipt`);
    expect(answer.status).toBe('stored');
  });

  it('both answers lost (a reset after each try): the agent asks the cloud, which has it queued, and counts it sent', async () => {
    const reportId = await queuedInOutbox();
    cutAnswers = 2;
    const api = new CloudApi(url, net.siteA.token);
    // Unreachable, as far as the client can tell: only the cloud knows that the report arrived.
    const first = await flushOutbox(agent.db, api, signer());
    expect(first).toMatchObject({ sent: 1, refused: 0, pending: 0 });
    expect(await outboxRow(reportId)).toMatchObject({ status: 'sent' });
    expect(await cloud.deps.db.select().from(reportReceipts)).toHaveLength(1);
  });
});
