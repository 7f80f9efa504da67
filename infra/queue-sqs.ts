import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeadLetteringQueue, QueueMessage } from './queue.ts';

export interface SqsQueueOptions {
  client: SQSClient;
  /** The queue URL of each topic. */
  queueUrls: Record<string, string>;
  /** The dead-letter queue URL of each topic (the main queue's RedrivePolicy must point there). */
  deadLetterUrls?: Record<string, string>;
  /**
   * How long a receive waits for a message when none is visible, in seconds (0–20). Short by default: the
   * caller is a poller or a test, not a long-lived consumer; 0 means SQS's short polling, which may miss
   * messages sampled on other servers.
   */
  waitSeconds?: number;
}

/** SQS's cap on messages per ReceiveMessage and per batch request. */
const BATCH = 10;
/** Empty receives in a row that end a dead-letter listing or redrive (see heldBatches). */
const EMPTY_RECEIVES = 2;
/**
 * The most message-body bytes one SendMessageBatch carries here: SQS refuses a batch whose messages add up to
 * more than its cap (1 MiB now, 256 KiB on older quotas), so this keeps to the lower one.
 */
const BATCH_PAYLOAD_BYTES = 256 * 1024;
/** How long a dead letter stays hidden from others while deadLetters() or redrive() holds it. */
const HOLD_SECONDS = 30;

/**
 * The queue on SQS: one queue (and optionally one dead-letter queue) per topic. A delivery's id is
 * `<topic>:<receipt handle>`, since SQS deletes by queue URL and receipt handle and `ack` gets only the id.
 * Dead-lettering itself is SQS's (RedrivePolicy maxReceiveCount); this adapter only reads and redrives.
 */
export function createSqsQueue(opts: SqsQueueOptions): DeadLetteringQueue {
  const { client } = opts;
  const waitSeconds = opts.waitSeconds ?? 1;
  if (!Number.isInteger(waitSeconds) || waitSeconds < 0 || waitSeconds > 20)
    throw new RangeError('waitSeconds must be a whole number from 0 to 20');
  for (const topic of [...Object.keys(opts.queueUrls), ...Object.keys(opts.deadLetterUrls ?? {})])
    if (topic === '' || topic.includes(':')) throw new TypeError(`invalid topic name "${topic}"`);

  const urlOf = (topic: string) => {
    const url = Object.hasOwn(opts.queueUrls, topic) ? opts.queueUrls[topic] : undefined;
    if (!url) throw new Error(`no SQS queue is configured for topic "${topic}"`);
    return url;
  };
  const deadLetterUrlOf = (topic: string) => {
    const urls = opts.deadLetterUrls ?? {};
    const url = Object.hasOwn(urls, topic) ? urls[topic] : undefined;
    if (!url) throw new Error(`no SQS dead-letter queue is configured for topic "${topic}"`);
    return url;
  };
  const receiveFrom = async (queueUrl: string, max: number, visibilitySeconds: number) =>
    (
      await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(BATCH, Math.max(1, Math.floor(max))),
          VisibilityTimeout: Math.min(43_200, Math.max(0, Math.ceil(visibilitySeconds))),
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          // The older name for the same request: some SQS-compatible servers (local-aws-sqs) read only it.
          AttributeNames: ['All'],
        }),
      )
    ).Messages ?? [];
  /**
   * Every message of a dead-letter queue, a batch at a time, each held hidden for HOLD_SECONDS. One empty
   * receive does not prove the queue empty: messages reach a DLQ some time after their last visibility timeout
   * ends (local-aws-sqs on a loaded machine listed ten of twelve), so it ends after EMPTY_RECEIVES empty
   * receives in a row, each a long poll.
   */
  async function* heldBatches(queueUrl: string): AsyncGenerator<Message[]> {
    for (let empty = 0; empty < EMPTY_RECEIVES; ) {
      const batch = await receiveFrom(queueUrl, BATCH, HOLD_SECONDS);
      if (batch.length === 0) empty++;
      else {
        empty = 0;
        yield batch;
      }
    }
  }

  return {
    async send(topic, body) {
      const res = await client.send(new SendMessageCommand({ QueueUrl: urlOf(topic), MessageBody: body }));
      if (!res.MessageId) throw new Error(`SQS returned no message id for topic "${topic}"`);
      return res.MessageId;
    },

    async receive(topic, max, visibilitySeconds) {
      const messages = await receiveFrom(urlOf(topic), max, visibilitySeconds);
      return messages.map((m) => ({ ...toQueueMessage(m), id: `${topic}:${m.ReceiptHandle}` }));
    },

    async ack(id) {
      const colon = id.indexOf(':');
      if (colon < 1) throw new TypeError('not an SQS delivery id (expected "<topic>:<receipt handle>")');
      await client.send(
        new DeleteMessageCommand({ QueueUrl: urlOf(id.slice(0, colon)), ReceiptHandle: id.slice(colon + 1) }),
      );
    },

    async deadLetters(topic) {
      // SQS cannot peek: receive every dead letter (each stays hidden while held), then make them visible again.
      const dlq = deadLetterUrlOf(topic);
      const held: Message[] = [];
      for await (const batch of heldBatches(dlq)) held.push(...batch);
      for (let i = 0; i < held.length; i += BATCH) {
        const entries = held
          .slice(i, i + BATCH)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 }));
        await client.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: dlq, Entries: entries }));
      }
      return held.map((m) => ({ ...toQueueMessage(m), id: m.MessageId ?? '' }));
    },

    async redrive(topic) {
      const dlq = deadLetterUrlOf(topic);
      const main = urlOf(topic);
      let moved = 0;
      let stuck = 0;
      for await (const batch of heldBatches(dlq)) {
        // One send per group of messages that fits a batch request (SQS refuses a batch whose bodies add up to
        // more than its cap, whatever each one's size), so large reports are redriven too.
        for (const group of byPayload(batch)) {
          // Send first, delete only what was sent: a failure leaves a message in the DLQ (or, if the delete
          // fails, in both queues — consumers are idempotent), never in neither.
          const sent = await client.send(
            new SendMessageBatchCommand({
              QueueUrl: main,
              Entries: group.map((m, i) => ({ Id: String(i), MessageBody: m.Body ?? '' })),
            }),
          );
          const delivered = new Set((sent.Successful ?? []).map((s) => Number(s.Id)));
          stuck += group.length - delivered.size;
          const deletions = group
            .filter((_, i) => delivered.has(i))
            .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle }));
          if (deletions.length > 0) {
            const deleted = await client.send(
              new DeleteMessageBatchCommand({ QueueUrl: dlq, Entries: deletions }),
            );
            if (deleted.Failed?.length)
              throw new Error(
                `redrive of "${topic}": ${deleted.Failed.length} message(s) were re-sent but could not be deleted ` +
                  'from the dead-letter queue; they will be delivered twice',
              );
          }
          moved += delivered.size;
        }
      }
      // Messages that failed to send stay hidden in the DLQ for HOLD_SECONDS, so the loop above has ended.
      if (stuck > 0)
        throw new Error(
          `redrive of "${topic}": ${stuck} message(s) could not be re-sent and stay in the dead-letter queue ` +
            `(${moved} moved)`,
        );
      return moved;
    },
  };
}

/**
 * Splits received messages into groups whose bodies add up to at most BATCH_PAYLOAD_BYTES; a message larger than
 * that goes in a group of its own.
 */
function byPayload(messages: Message[]): Message[][] {
  const groups: Message[][] = [];
  let group: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = Buffer.byteLength(m.Body ?? '', 'utf8');
    if (group.length > 0 && bytes + size > BATCH_PAYLOAD_BYTES) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(m);
    bytes += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

function toQueueMessage(m: Message): Omit<QueueMessage, 'id'> {
  if (m.ReceiptHandle === undefined || m.Body === undefined)
    throw new Error('SQS returned a message without a receipt handle or body');
  const count = Number(m.Attributes?.ApproximateReceiveCount);
  return { body: m.Body, attempts: Number.isInteger(count) && count > 0 ? count : 1 };
}
