import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { ROLLOUT_STATES, ROLLOUT_VERDICTS } from '../../schemas/rollout.ts';
import { models, regions } from './schema.ts';

/** The rollout of each model version per region (functions/rollouts/): its current state and its events. */

/**
 * The current state of each (model version, region) rollout that has had an event, kept alongside its
 * events (rollout_events) and moved only in the same batch that appends one; `events` is the number of
 * events so far, and the next event must take `events + 1`. A proposal waiting for a second person is the
 * `pending*` columns.
 */
export const rollouts = sqliteTable(
  'rollouts',
  {
    modelId: text('model_id')
      .notNull()
      .references(() => models.id),
    regionId: text('region_id')
      .notNull()
      .references(() => regions.id),
    state: text('state', { enum: ROLLOUT_STATES }).notNull(),
    events: integer('events').notNull(),
    /** The last verdict the system applied, and the sha256 of the comparison snapshot it came from. */
    verdict: text('verdict', { enum: ROLLOUT_VERDICTS }),
    evidenceSha256: text('evidence_sha256'),
    criteriaSha256: text('criteria_sha256'),
    concession: text('concession'),
    approvedAt: integer('approved_at', { mode: 'timestamp_ms' }),
    reviewDueAt: integer('review_due_at', { mode: 'timestamp_ms' }),
    pendingAction: text('pending_action', { enum: ['approve', 'reinstate'] }),
    pendingPersonId: text('pending_person_id'),
    pendingAt: integer('pending_at', { mode: 'timestamp_ms' }),
    pendingConcession: text('pending_concession'),
    changedAt: integer('changed_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.regionId] }), index('rollouts_region_idx').on(t.regionId)],
);

/**
 * Every rollout decision, append-only: who (token and person), when, why (the person's words, kept here and
 * only hashed into the audit chain), and what it was bound to (the evidence, the model's sha256 and threshold,
 * the criteria). The unique (model, region, seq) makes two racing decisions on one rollout fail one.
 */
export const rolloutEvents = sqliteTable(
  'rollout_events',
  {
    id: text('id').primaryKey(),
    modelId: text('model_id')
      .notNull()
      .references(() => models.id),
    regionId: text('region_id')
      .notNull()
      .references(() => regions.id),
    seq: integer('seq').notNull(),
    action: text('action').notNull(),
    fromState: text('from_state', { enum: ROLLOUT_STATES }).notNull(),
    toState: text('to_state', { enum: ROLLOUT_STATES }).notNull(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    /** `token:<id>` or `system`. */
    actor: text('actor').notNull(),
    personId: text('person_id'),
    reason: text('reason').notNull(),
    concession: text('concession'),
    evidenceSha256: text('evidence_sha256'),
    modelSha256: text('model_sha256').notNull(),
    threshold: real('threshold').notNull(),
    criteriaSha256: text('criteria_sha256'),
  },
  (t) => [uniqueIndex('rollout_events_seq_idx').on(t.modelId, t.regionId, t.seq)],
);
