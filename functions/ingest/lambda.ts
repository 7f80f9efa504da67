import { depsFromEnv } from '../deps-from-env.ts';
import { handleReportMessage, type IngestDeps } from './handle-report-message.ts';

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
  const batchItemFailures: SqsBatchResponse['batchItemFailures'] = [];
  // One at a time, like the embedded consumer: reports of one job must not race each other.
  for (const record of event.Records) {
    try {
      await handleReportMessage(deps, record.body);
    } catch {
      // The log takes no free text (the error may quote the report): the code and the SQS id say enough.
      deps.log.write({
        time: deps.clock.now().toISOString(),
        event: 'ingest',
        code: 'retry',
        ref: record.messageId,
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
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
