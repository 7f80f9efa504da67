import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock } from '../../infra/clock.ts';
import {
  describeQueueContract,
  MAX_RECEIVES,
  type QueueHarness,
} from '../../infra/queue.contract.test-util.ts';
import { createDbQueue } from '../../infra/queue-db.ts';
import { openDatabase } from './database.ts';

/** The queue contract on the table queue, in the cloud's database (the SQS runs: infra/queue.contract.test.ts). */

async function openDb(): Promise<QueueHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-queue-contract-'));
  const db = await openDatabase(`file:${join(dir, 'q.db')}`);
  const clock = fixedClock(new Date('2026-11-27T10:00:00Z'));
  return {
    queue: createDbQueue(db, clock, { maxAttempts: MAX_RECEIVES }),
    elapse: async (ms) => clock.advance(ms),
    close: async () => {
      db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeQueueContract('table', openDb);
