/**
 * A work queue between the API and its consumers (report ingest). At-least-once: a received message comes
 * back after `visibilitySeconds` unless it is acked, and consumers must be idempotent. The embedded
 * implementation is a table (queue-db.ts); the AWS one is SQS with a dead-letter queue (queue-sqs.ts).
 */
export interface QueueMessage {
  /**
   * What `ack` takes to delete this delivery. Not a stable message id: for SQS it carries the receipt handle,
   * which is new with every delivery and differs from the id `send` returned.
   */
  id: string;
  body: string;
  /** How many times this message has been received, this delivery included. */
  attempts: number;
}

export interface Queue {
  send(topic: string, body: string): Promise<string>;
  /** Up to `max` visible messages (SQS gives at most 10 a call); an empty list when none is visible now. */
  receive(topic: string, max: number, visibilitySeconds: number): Promise<QueueMessage[]>;
  /** Deletes a received message, by the `id` of its delivery. */
  ack(id: string): Promise<void>;
}

/** A queue whose messages that fail too often are set aside, to be looked at and put back. */
export interface DeadLetteringQueue extends Queue {
  /**
   * The dead letters of a topic, oldest first where the backend knows the order; it leaves them there. Their
   * `id` only names them (it is no delivery to ack), and what `attempts` counts differs between backends.
   */
  deadLetters(topic: string): Promise<QueueMessage[]>;
  /** Puts every dead letter of a topic back in the queue with fresh attempts; returns how many. */
  redrive(topic: string): Promise<number>;
}

/** A queue that can tell in-process consumers that a message was just sent, so they need not wait a poll. */
export interface NotifyingQueue extends Queue {
  onSend(listener: (topic: string) => void): () => void;
}

export function isNotifyingQueue(q: Queue): q is NotifyingQueue {
  return typeof (q as Partial<NotifyingQueue>).onSend === 'function';
}
