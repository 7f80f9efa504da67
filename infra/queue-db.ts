import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Clock } from './clock.ts';
import type { LibsqlDatabase as Database } from './database.ts';
import type { NotifyingQueue, Queue, QueueMessage } from './queue.ts';
import { queueMessages } from './queue-table.ts';

/** A message ready to be inserted by the caller's own batch, and the wake-up to give once that committed. */
export interface PreparedSend {
  id: string;
  insert: BatchItem<'sqlite'>;
  notify(): void;
}

export interface DbQueue extends NotifyingQueue {
  /** The database the queue table lives in: a batch on it can carry a message with the change it belongs to. */
  readonly database: Database;
  /** `send` as a statement for a batch of the caller's, so a message commits (or not) with its change. */
  prepareSend(topic: string, body: string): PreparedSend;
  /** `ack` as a statement for a batch of the caller's, so a message goes exactly when its work commits. */
  prepareAck(id: string): BatchItem<'sqlite'>;
  /** Messages that were received `maxAttempts` times without an ack, oldest first. */
  deadLetters(topic: string): Promise<QueueMessage[]>;
  /** Puts every dead letter of a topic back in the queue with fresh attempts; returns how many. */
  redrive(topic: string): Promise<number>;
  /**
   * Makes every message of a topic that was received and not acked visible now; returns how many. For a
   * process that alone consumes the table, at its start: their consumer died with the process before it.
   */
  releaseClaims(topic: string): Promise<number>;
}

/**
 * The embedded queue: a table in the cloud database. Receiving is one UPDATE … RETURNING, so two consumers
 * (threads or processes) never claim the same message inside its visibility window.
 */
export function createDbQueue(db: Database, clock: Clock, opts: { maxAttempts?: number } = {}): DbQueue {
  const maxAttempts = opts.maxAttempts ?? 5;
  const listeners = new Set<(topic: string) => void>();
  const prepareSend = (topic: string, body: string): PreparedSend => {
    const id = randomUUID();
    const now = clock.now();
    return {
      id,
      insert: db
        .insert(queueMessages)
        .values({ id, topic, body, status: 'ready', attempts: 0, visibleAt: now, createdAt: now }),
      notify: () => {
        for (const listener of listeners) listener(topic);
      },
    };
  };
  return {
    database: db,
    prepareSend,

    async send(topic, body) {
      const message = prepareSend(topic, body);
      await message.insert;
      message.notify();
      return message.id;
    },

    async receive(topic, max, visibilitySeconds) {
      const now = clock.now().getTime();
      const hiddenUntil = now + visibilitySeconds * 1000;
      const [, claimed] = await db.batch([
        // A message that has used all its attempts goes to the dead letters instead of being delivered again.
        db
          .update(queueMessages)
          .set({ status: 'dead' })
          .where(
            sql`${queueMessages.topic} = ${topic} and ${queueMessages.status} = 'ready'
              and ${queueMessages.visibleAt} <= ${now} and ${queueMessages.attempts} >= ${maxAttempts}`,
          ),
        db
          .update(queueMessages)
          .set({ visibleAt: new Date(hiddenUntil), attempts: sql`${queueMessages.attempts} + 1` })
          .where(
            sql`${queueMessages.id} in (select ${queueMessages.id} from ${queueMessages}
              where ${queueMessages.topic} = ${topic} and ${queueMessages.status} = 'ready'
                and ${queueMessages.visibleAt} <= ${now}
              order by ${queueMessages.createdAt} limit ${Math.max(1, Math.floor(max))})`,
          )
          .returning({ id: queueMessages.id, body: queueMessages.body, attempts: queueMessages.attempts }),
      ]);
      return claimed;
    },

    async ack(id) {
      await db.delete(queueMessages).where(eq(queueMessages.id, id));
    },

    prepareAck: (id) => db.delete(queueMessages).where(eq(queueMessages.id, id)),

    onSend(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async deadLetters(topic) {
      return db
        .select({ id: queueMessages.id, body: queueMessages.body, attempts: queueMessages.attempts })
        .from(queueMessages)
        .where(and(eq(queueMessages.topic, topic), eq(queueMessages.status, 'dead')))
        .orderBy(queueMessages.createdAt);
    },

    async redrive(topic) {
      const moved = await db
        .update(queueMessages)
        .set({ status: 'ready', attempts: 0, visibleAt: clock.now() })
        .where(and(eq(queueMessages.topic, topic), eq(queueMessages.status, 'dead')))
        .returning({ id: queueMessages.id });
      for (const listener of listeners) listener(topic);
      return moved.length;
    },

    async releaseClaims(topic) {
      const now = clock.now();
      const released = await db
        .update(queueMessages)
        .set({ visibleAt: now })
        .where(
          sql`${queueMessages.topic} = ${topic} and ${queueMessages.status} = 'ready'
            and ${queueMessages.attempts} > 0 and ${queueMessages.visibleAt} > ${now.getTime()}`,
        )
        .returning({ id: queueMessages.id });
      return released.length;
    },
  };
}

/** Whether `queue` is a table in `db`, so that sending to it can be part of a transaction on `db`. */
export function isQueueIn(queue: Queue, db: Database): queue is DbQueue {
  const q = queue as Partial<DbQueue>;
  return q.database === db && typeof q.prepareSend === 'function';
}
