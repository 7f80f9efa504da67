import { depsFromEnv } from '../deps-from-env.ts';
import type { IngestDeps } from './handle-report-message.ts';
import { ingestReportBatch } from './ingest-batch.ts';

/** The part of Lambda's SQS event that ingest reads. */
export interface SqsEvent {
  Records: { messageId: string; body: string }[];
}

/** Lambda's partial batch response: the records to deliver again (the rest are deleted from the queue). */
export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/**
 * Handles one SQS batch of report messages. Stored, duplicate and rejected reports are done with; a record
 * whose handling threw (the database was unavailable, say) is named in `batchItemFailures`, so SQS redelivers
 * only it and dead-letters it after the queue's maxReceiveCount. Needs the subscription's partial batch
 * responses on (sst.config.ts); without them Lambda would take the answer for success and delete every record.
 */
export async function handleSqsBatch(deps: IngestDeps, event: SqsEvent): Promise<SqsBatchResponse> {
  // One batch in order, like the embedded consumer: reports of one job must not race each other. A record
  // whose handling threw is logged with its reason code and the SQS id (ingest-batch.ts).
  const outcomes = await ingestReportBatch(
    deps,
    event.Records.map((r) => ({ id: r.messageId, body: r.body })),
  );
  return {
    batchItemFailures: event.Records.filter((_, i) => outcomes[i] === null).map((r) => ({
      itemIdentifier: r.messageId,
    })),
  };
}

let deps: Promise<IngestDeps> | undefined;

/** The ingest Lambda: dependencies from the environment, built once per container on the first event. */
export async function handler(event: SqsEvent): Promise<SqsBatchResponse> {
  // A failed start (database unreachable) is not kept: the next event tries again.
  deps ??= depsFromEnv(process.env).catch((err: unknown) => {
    deps = undefined;
    throw err;
  });
  return handleSqsBatch(await deps, event);
}
