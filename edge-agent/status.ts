import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { count, eq } from 'drizzle-orm';
import type { ColumnRefusal } from './privacy/subgroup-columns.ts';
import { refusalsByJob } from './review/refusals.ts';
import { identity, jobs, outbox, sentLog } from './state/schema.ts';
import { type AgentDb, openAgentState } from './state/store.ts';

export interface AgentStatus {
  enrolled: boolean;
  siteId?: string;
  regionId?: string;
  keyId?: string;
  cloudUrl?: string;
  jobs: { pending: number; reported: number; failed: number };
  outbox: { held: number; pending: number; sent: number; refused: number; rejected: number };
  requestsLogged: number;
  /** Per job, the subgroup columns the campaign asked for that this site refused (name and rule only). */
  refusedColumns: { jobId: string; campaignId: string; columns: ColumnRefusal[] }[];
}

/** What this agent is and has done, from its local state only (no network). */
export async function agentStatus(stateDir: string): Promise<AgentStatus> {
  if (!existsSync(join(stateDir, 'agent.db')))
    return {
      enrolled: false,
      jobs: { pending: 0, reported: 0, failed: 0 },
      outbox: { held: 0, pending: 0, sent: 0, refused: 0, rejected: 0 },
      requestsLogged: 0,
      refusedColumns: [],
    };
  const state = await openAgentState(stateDir);
  try {
    const me = await state.db.select().from(identity).get();
    const countJobs = async (s: 'pending' | 'reported' | 'failed') =>
      (await state.db.select({ n: count() }).from(jobs).where(eq(jobs.status, s)).get())?.n ?? 0;
    const countOutbox = async (s: 'held' | 'pending' | 'sent' | 'refused' | 'rejected') =>
      (await state.db.select({ n: count() }).from(outbox).where(eq(outbox.status, s)).get())?.n ?? 0;
    return {
      enrolled: Boolean(me),
      siteId: me?.siteId,
      regionId: me?.regionId,
      keyId: me?.keyId,
      cloudUrl: me?.cloudUrl,
      jobs: {
        pending: await countJobs('pending'),
        reported: await countJobs('reported'),
        failed: await countJobs('failed'),
      },
      outbox: {
        held: await countOutbox('held'),
        pending: await countOutbox('pending'),
        sent: await countOutbox('sent'),
        refused: await countOutbox('refused'),
        rejected: await countOutbox('rejected'),
      },
      requestsLogged: (await state.db.select({ n: count() }).from(sentLog).get())?.n ?? 0,
      refusedColumns: await refusedColumns(state.db),
    };
  } finally {
    state.close();
  }
}

async function refusedColumns(db: AgentDb): Promise<AgentStatus['refusedColumns']> {
  const byJob = await refusalsByJob(db);
  const campaigns = new Map(
    (await db.select({ jobId: jobs.jobId, campaignId: jobs.campaignId }).from(jobs).all()).map((j) => [
      j.jobId,
      j.campaignId,
    ]),
  );
  return [...byJob].map(([jobId, columns]) => ({ jobId, campaignId: campaigns.get(jobId) ?? '', columns }));
}
