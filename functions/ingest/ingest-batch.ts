import { inArray } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { type AuditedChange, commitAuditedAll } from '../audit/append.ts';
import { reports } from '../db/schema.ts';
import { failureReason } from './failure-reason.ts';
import {
  acceptedEvent,
  type CheckedReport,
  checkReportMessage,
  handleReportMessage,
  type IngestDeps,
  type IngestOutcome,
  storeReportStatements,
} from './handle-report-message.ts';

export interface BatchMessage {
  /** What acking it takes (the queue's delivery id; SQS's message id under Lambda). */
  id: string;
  body: string;
}

/** How the caller's queue lets go of a handled message: as a statement of the store's transaction, or after. */
export interface BatchAck {
  statement?: (id: string) => BatchItem<'sqlite'>;
  one?: (id: string) => Promise<void>;
}

/**
 * Ingests a batch of queue messages with as few commits as it can: the reports that pass every check are
 * stored, audited and (where `ack.statement` is given) acked in one transaction. Everything else goes through
 * handleReportMessage one message at a time — a refusal, a report stored before, a message whose check
 * threw, a second message for a report or job already in the group — and so does the whole group when its
 * transaction fails, so a bad message never sinks the others. Returns each message's outcome in order, or
 * null where handling threw: that message is not acked, and comes back after its visibility timeout.
 */
export async function ingestReportBatch(
  deps: IngestDeps,
  messages: readonly BatchMessage[],
  ack: BatchAck = {},
): Promise<(IngestOutcome | null)[]> {
  const outcomes: (IngestOutcome | null)[] = new Array(messages.length).fill(null);
  const group = await checkedGroup(deps, messages);
  if (group.size > 1 && (await storeGroup(deps, messages, group, ack)))
    for (const [i, checked] of group) outcomes[i] = { outcome: 'stored', reportId: checked.report.reportId };
  for (let i = 0; i < messages.length; i++) {
    if (outcomes[i]) continue;
    outcomes[i] = await handleOne(deps, messages[i] as BatchMessage, ack);
  }
  return outcomes;
}

/** The messages (by index) whose reports pass ingest's checks and are neither stored nor twice in the batch. */
async function checkedGroup(
  deps: IngestDeps,
  messages: readonly BatchMessage[],
): Promise<Map<number, CheckedReport>> {
  const group = new Map<number, CheckedReport>();
  const taken = new Set<string>();
  for (const [i, message] of messages.entries()) {
    try {
      const checked = await checkReportMessage(deps, message.body);
      const keys = [`report:${checked.report.reportId}`, `job:${checked.job.jobId}`];
      if (keys.some((k) => taken.has(k))) continue;
      for (const k of keys) taken.add(k);
      group.set(i, checked);
    } catch {
      // Refused, or the database failed: handleOne takes the message on its own and says which.
    }
  }
  if (group.size === 0) return group;
  const stored = await deps.db
    .select({ reportId: reports.reportId })
    .from(reports)
    .where(
      inArray(
        reports.reportId,
        [...group.values()].map((c) => c.report.reportId),
      ),
    );
  const storedIds = new Set(stored.map((r) => r.reportId));
  for (const [i, checked] of group) if (storedIds.has(checked.report.reportId)) group.delete(i);
  return group;
}

/** One transaction for the group; false when it failed (nothing of it was kept). */
async function storeGroup(
  deps: IngestDeps,
  messages: readonly BatchMessage[],
  group: Map<number, CheckedReport>,
  ack: BatchAck,
): Promise<boolean> {
  const now = deps.clock.now();
  const changes: AuditedChange[] = [...group.values()].map((checked) => ({
    change: storeReportStatements(deps, checked, now, 'fail'),
    event: acceptedEvent(checked),
  }));
  const { statement } = ack;
  const acks = statement ? [...group.keys()].map((i) => statement((messages[i] as BatchMessage).id)) : [];
  try {
    await commitAuditedAll(deps, changes, acks);
  } catch (err) {
    // A report stored or a job settled meanwhile, or the database failing: each message on its own says which.
    deps.log.write({
      time: now.toISOString(),
      event: 'ingest',
      code: 'batch-split',
      reason: failureReason(err),
    });
    return false;
  }
  for (const checked of group.values())
    deps.log.write({
      time: now.toISOString(),
      event: 'ingest',
      code: 'stored',
      ref: checked.report.reportId,
    });
  if (!ack.statement && ack.one)
    for (const i of group.keys()) {
      const { id } = messages[i] as BatchMessage;
      // Stored already: a redelivery finds the report and is acked as a duplicate then.
      await ack.one(id).catch((err: unknown) => logRetry(deps, id, err));
    }
  return true;
}

/** The log takes no free text (the error may quote the report): the reason code and the message id say enough. */
function logRetry(deps: IngestDeps, id: string, err: unknown): void {
  deps.log.write({
    time: deps.clock.now().toISOString(),
    event: 'ingest',
    code: 'retry',
    reason: failureReason(err),
    ref: id,
  });
}

/** handleReportMessage and the ack; a failure is logged with its reason code and the message left for retry. */
async function handleOne(
  deps: IngestDeps,
  message: BatchMessage,
  ack: BatchAck,
): Promise<IngestOutcome | null> {
  try {
    const outcome = await handleReportMessage(deps, message.body);
    await ack.one?.(message.id);
    return outcome;
  } catch (err) {
    logRetry(deps, message.id, err);
    return null;
  }
}
