import { isNotifyingQueue, type Queue } from '../../infra/queue.ts';
import { REPORTS_TOPIC } from '../deps.ts';
import { handleReportMessage, type IngestDeps, type IngestOutcome } from './handle-report-message.ts';

export interface EmbeddedIngestOptions {
  /** How often to look for messages when nothing kicks the loop (a second process may have enqueued). */
  pollMs?: number;
  batchSize?: number;
  visibilitySeconds?: number;
}

type Deps = IngestDeps & { queue: Queue };

/**
 * Receives one batch of report messages, handles each, and acks the ones that are done with (stored,
 * duplicate or rejected). A message whose handling threw stays unacked and comes back after its visibility
 * timeout. Returns the outcomes; an empty list means the queue had nothing visible.
 */
export async function drainReportBatch(
  deps: Deps,
  opts: EmbeddedIngestOptions = {},
): Promise<IngestOutcome[]> {
  const batch = await deps.queue.receive(REPORTS_TOPIC, opts.batchSize ?? 10, opts.visibilitySeconds ?? 60);
  const outcomes: IngestOutcome[] = [];
  for (const message of batch) {
    try {
      outcomes.push(await handleReportMessage(deps, message.body));
      await deps.queue.ack(message.id);
    } catch {
      // Left for redelivery; the queue dead-letters it after its last attempt.
    }
  }
  return outcomes;
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
      } catch {
        // The database was unavailable: wait a poll interval and try again.
        drained = true;
      }
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
