import { asc } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { rolloutEvents, rollouts } from '../db/schema.ts';
// The fields of a stored event the chain vouches for are the ones its entry was written with.
import { auditDetailOf } from '../rollouts/store.ts';

/**
 * Rollout decisions as the chain records them ('rollout.changed', one entry per event), and the check that
 * the rollout_events table and each rollout's current state still say the same: an event inserted, edited or
 * deleted by SQL, or a state set around the API, shows as a disagreement.
 */

export interface RecordedRolloutEvent {
  seq: number;
  detail: Record<string, unknown>;
}

type Push = (
  kind: 'rollout-event' | 'rollout',
  id: string,
  code: 'not-in-chain' | 'missing-from-database' | 'differs-from-chain',
  problem: string,
) => void;

export async function checkRolloutsAgainstChain(
  db: Database,
  recorded: Map<string, RecordedRolloutEvent>,
  push: Push,
): Promise<number> {
  const events = await db.select().from(rolloutEvents).orderBy(asc(rolloutEvents.seq));
  const lastTo = new Map<string, string>();
  for (const e of events) {
    const chain = recorded.get(e.id);
    if (!chain) {
      push('rollout-event', e.id, 'not-in-chain', 'is in the database but the audit chain never recorded it');
      continue;
    }
    for (const [field, value] of Object.entries(auditDetailOf(e)))
      if (chain.detail[field] !== value)
        push('rollout-event', e.id, 'differs-from-chain', `changed since entry #${chain.seq}: ${field}`);
    lastTo.set(`${e.modelId}@${e.regionId}`, e.toState);
  }
  const ids = new Set(events.map((e) => e.id));
  for (const [id, r] of recorded)
    if (!ids.has(id))
      push(
        'rollout-event',
        id,
        'missing-from-database',
        `is recorded at entry #${r.seq} but missing from the database`,
      );
  for (const row of await db.select().from(rollouts)) {
    const id = `${row.modelId}@${row.regionId}`;
    if (lastTo.get(id) !== row.state)
      push(
        'rollout',
        id,
        'differs-from-chain',
        `its state ${row.state} is not where its recorded events lead`,
      );
  }
  return events.length;
}
