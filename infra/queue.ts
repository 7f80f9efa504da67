/**
 * A work queue between the API and its consumers (report ingest). At-least-once: a received message comes
 * back after `visibilitySeconds` unless it is acked, and consumers must be idempotent. The embedded
 * implementation is a table (queue-db.ts); the AWS one will be SQS with a dead-letter queue.
 */
export interface QueueMessage {
  id: string;
  body: string;
  /** How many times this message has been received, this delivery included. */
  attempts: number;
}

export interface Queue {
  send(topic: string, body: string): Promise<string>;
  receive(topic: string, max: number, visibilitySeconds: number): Promise<QueueMessage[]>;
  ack(id: string): Promise<void>;
}

/** A queue that can tell in-process consumers that a message was just sent, so they need not wait a poll. */
export interface NotifyingQueue extends Queue {
  onSend(listener: (topic: string) => void): () => void;
}

export function isNotifyingQueue(q: Queue): q is NotifyingQueue {
  return typeof (q as Partial<NotifyingQueue>).onSend === 'function';
}
