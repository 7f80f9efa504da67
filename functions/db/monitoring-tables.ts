import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { Envelope } from '../../schemas/envelope.ts';
import type { MonitoringReport, MonitoringSettings } from '../../schemas/monitoring.ts';
import { campaigns, models, regions, sites } from './schema.ts';

/**
 * Monitoring of deployed versions (functions/monitoring/): how each rollout is monitored, the jobs issued per
 * period and site, and the monitoring reports the sites sent back. Alerts have their own file.
 */

/** How one (model version, region) rollout is monitored; written by a coordinator or at deployment. */
export const monitoringSettings = sqliteTable(
  'monitoring_settings',
  {
    modelId: text('model_id')
      .notNull()
      .references(() => models.id),
    regionId: text('region_id')
      .notNull()
      .references(() => regions.id),
    settings: text('settings', { mode: 'json' }).$type<MonitoringSettings>().notNull(),
    /** The campaign whose bins, minimum cell and reference reports the monitoring jobs use. */
    campaignId: text('campaign_id')
      .notNull()
      .references(() => campaigns.id),
    /** Periods issued so far (0..issued−1): the scheduler issues the next one once it has ended. */
    issuedPeriods: integer('issued_periods').notNull().default(0),
    changedAt: integer('changed_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.regionId] })],
);

/**
 * One job per (rollout, period, site). pending: the site has not reported; reported: a monitoring report is
 * stored (a later revision may still come); cancelled: the version was suspended or withdrawn first.
 */
export const MONITORING_JOB_STATUSES = ['pending', 'reported', 'cancelled'] as const;

export const monitoringJobs = sqliteTable(
  'monitoring_jobs',
  {
    id: text('id').primaryKey(),
    modelId: text('model_id')
      .notNull()
      .references(() => models.id),
    regionId: text('region_id')
      .notNull()
      .references(() => regions.id),
    siteId: text('site_id')
      .notNull()
      .references(() => sites.id),
    campaignId: text('campaign_id')
      .notNull()
      .references(() => campaigns.id),
    periodIndex: integer('period_index').notNull(),
    periodStart: text('period_start').notNull(),
    periodEnd: text('period_end').notNull(),
    status: text('status', { enum: MONITORING_JOB_STATUSES }).notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    uniqueIndex('monitoring_jobs_period_idx').on(t.modelId, t.regionId, t.periodIndex, t.siteId),
    index('monitoring_jobs_site_status_idx').on(t.siteId, t.status),
  ],
);

/**
 * Monitoring reports as stored: the newest revision of a job is the one that counts (`revision` is the
 * report's own), earlier ones stay for the record. (job, revision) is unique: a revision is stored once.
 */
export const monitoringReports = sqliteTable(
  'monitoring_reports',
  {
    reportId: text('report_id').primaryKey(),
    jobId: text('job_id')
      .notNull()
      .references(() => monitoringJobs.id),
    revision: integer('revision').notNull(),
    modelId: text('model_id').notNull(),
    regionId: text('region_id').notNull(),
    siteId: text('site_id').notNull(),
    periodIndex: integer('period_index').notNull(),
    report: text('report', { mode: 'json' }).$type<MonitoringReport>().notNull(),
    envelope: text('envelope', { mode: 'json' }).$type<Envelope>().notNull(),
    receivedAt: integer('received_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    uniqueIndex('monitoring_reports_revision_idx').on(t.jobId, t.revision),
    // The charts read one rollout's reports, site by site, period by period.
    index('monitoring_reports_rollout_idx').on(t.modelId, t.regionId, t.siteId, t.periodIndex),
  ],
);
