import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const QUEUE_STATUSES = ['ready', 'dead'] as const;

/** The embedded queue (infra/queue-db.ts): a message is invisible until `visibleAt` once received. */
export const queueMessages = sqliteTable(
  'queue_messages',
  {
    id: text('id').primaryKey(),
    topic: text('topic').notNull(),
    body: text('body').notNull(),
    status: text('status', { enum: QUEUE_STATUSES }).notNull(),
    attempts: integer('attempts').notNull(),
    visibleAt: integer('visible_at', { mode: 'timestamp_ms' }).notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('queue_messages_poll_idx').on(t.topic, t.status, t.visibleAt)],
);
