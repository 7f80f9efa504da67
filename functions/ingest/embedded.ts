import { isNotifyingQueue, type Queue } from '../../infra/queue.ts';
import { isQueueIn } from '../../infra/queue-db.ts';
import { REPORTS_TOPIC } from '../deps.ts';
import { failureReason } from './failure-reason.ts';
import type { IngestDeps, IngestOutcome } from './handle-report-message.ts';
import { ingestReportBatch } from './ingest-batch.ts';

export interface EmbeddedIngestOptions {
  /** How often to look for messages when nothing kicks the loop (a second process may have enqueued). */
  pollMs?: number;
  batchSize?: number;
  visibilitySeconds?: number;
}

type Deps = IngestDeps & { queue: Queue };

/**
 * Receives one batch of report messages and ingests it (./ingest-batch.ts): the reports that pass are stored
 * and their messages acked in one transaction; stored, duplicate and rejected ones are done with. A message
 * whose handling threw stays unacked (the log says why) and comes back after its visibility timeout. Returns
 * the outcomes; an empty list means the queue had nothing visible.
 */
export async function drainReportBatch(
  deps: Deps,
  opts: EmbeddedIngestOptions = {},
): Promise<IngestOutcome[]> {
  const { queue } = deps;
  const batch = await queue.receive(REPORTS_TOPIC, opts.batchSize ?? 25, opts.visibilitySeconds ?? 60);
  const outcomes = await ingestReportBatch(deps, batch, {
    ...(isQueueIn(queue, deps.db) ? { statement: (id: string) => queue.prepareAck(id) } : {}),
    one: (id) => queue.ack(id),
  });
  return outcomes.filter((o): o is IngestOutcome => o !== null);
}

/**
 * Runs ingest inside the API process: polls the queue table, and wakes at once when this process enqueues.
 * Returns the function that stops it (and waits for the batch in hand).
 */
export function startEmbeddedIngest(deps: Deps, opts: EmbeddedIngestOptions = {}): () => Promise<void> {
  const pollMs = opts.pollMs ?? 1000;
  let stopped = false;
  let wake: (() => void) | null = null;
  let kicked = false;
  const kick = () => {
    kicked = true;
    wake?.();
  };
  const unsubscribe = isNotifyingQueue(deps.queue)
    ? deps.queue.onSend((topic) => topic === REPORTS_TOPIC && kick())
    : () => {};

  const loop = (async function ingestLoop() {
    while (!stopped) {
      kicked = false;
      let drained = false;
      try {
        drained = (await drainReportBatch(deps, opts)).length === 0;
      } catch (err) {
        // The database was unavailable: wait a poll interval and try again.
        deps.log.write({
          time: deps.clock.now().toISOString(),
          event: 'ingest',
          code: 'receive-failed',
          reason: failureReason(err),
        });
        drained = true;
      }
      // libSQL's calls run on this thread: give waiting requests their turn before the next batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (drained && !kicked && !stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    }
  })();

  return async function stopEmbeddedIngest() {
    stopped = true;
    unsubscribe();
    wake?.();
    await loop;
  };
}
