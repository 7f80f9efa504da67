import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudApi, CloudRefusal } from '../client/cloud-api.ts';
import { equalWidthEdges } from '../stats/histogram.ts';
import { generateSiteKeyPair } from './identity.ts';
import { enqueueReport, flushOutbox } from './outbox.ts';
import { privacyGate } from './privacy/gate.ts';
import { buildSiteReport } from './report/site-report.ts';
import { outbox } from './state/schema.ts';
import { type AgentDb, openAgentState } from './state/store.ts';

let dir: string;
let state: { db: AgentDb; close(): void };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-outbox-'));
  state = await openAgentState(dir);
});
afterAll(async () => {
  state.close();
  await rm(dir, { recursive: true, force: true });
});

const keys = generateSiteKeyPair();
const signer = { siteId: 'site-a', keyId: 'key_old', privateKeyPkcs8: keys.privateKeyPkcs8 };

async function queued(reportId: string): Promise<void> {
  const report = buildSiteReport({
    reportId,
    campaignId: 'camp_1',
    jobId: `job-${reportId.slice(0, 4)}`,
    siteId: 'site-a',
    model: { vendor: 'acme', name: 'm', version: '1.0.0', sha256: 'a'.repeat(64) },
    agentVersion: '0.1.0',
    threshold: 0.5,
    binEdges: equalWidthEdges(4),
    outcomes: Array.from({ length: 40 }, (_, i) => ({ score: (i % 10) / 10, label: (i % 2) as 0 | 1 })),
    excluded: {},
    images: { seen: 40, used: 40 },
  });
  await enqueueReport(state.db, privacyGate(report, { minCell: 5 }), { release: 'auto-approved', rule: 0 });
}

const refusingApi = (status: number, code: string) =>
  ({
    json: async () => {
      throw new CloudRefusal(status, code, 'refused');
    },
  }) as unknown as CloudApi;

const statusOf = async (reportId: string) =>
  (await state.db.select().from(outbox).where(eq(outbox.reportId, reportId)).get())?.status;

describe('flushOutbox', () => {
  it('keeps a report pending when the cloud refuses the signing key (a rotated or revoked key), not the report', async () => {
    const id = '11111111-1111-4111-8111-111111111111';
    await queued(id);
    for (const code of ['revoked-key', 'unknown-key']) {
      const result = await flushOutbox(state.db, refusingApi(401, code), signer);
      expect(result).toMatchObject({ sent: 0, refused: 0, pending: 1 });
      expect(await statusOf(id)).toBe('pending');
    }
    // Signed afresh with the new key, it goes out.
    const sent = await flushOutbox(state.db, { json: async () => ({}) } as unknown as CloudApi, {
      ...signer,
      keyId: 'key_new',
    });
    expect(sent).toMatchObject({ sent: 1, pending: 0 });
    expect(await statusOf(id)).toBe('sent');
  });

  it('records any other refusal as final', async () => {
    const id = '22222222-2222-4222-8222-222222222222';
    await queued(id);
    const result = await flushOutbox(state.db, refusingApi(422, 'invalid-report'), signer);
    expect(result).toMatchObject({ refused: 1, pending: 0 });
    expect(await statusOf(id)).toBe('refused');
  });
});
