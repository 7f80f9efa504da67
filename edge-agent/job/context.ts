import type { CloudApi } from '../../client/cloud-api.ts';
import type { Job } from '../../schemas/job.ts';
import type { JobFailureReason } from '../../schemas/job-status.ts';
import type { AgentLogs } from '../agent-logs.ts';
import type { AgentSettings } from '../config.ts';
import type { StatusFlush } from '../job-status.ts';
import type { FlushResult } from '../outbox.ts';
import type { PipelineProgress } from '../pipeline/pipeline-types.ts';
import type { identity } from '../state/schema.ts';
import type { AgentDb } from '../state/store.ts';

export type Identity = typeof identity.$inferSelect;

export interface JobProgress extends PipelineProgress {
  jobId: string;
}

export interface JobOutcome {
  jobId: string;
  status: 'reported' | 'failed';
  /** Whether the report waits for a site admin (`held`) or the site's policy released it. */
  release?: 'held' | 'auto-approved';
  failure?: JobFailureReason;
  /** For the site's operator only (the runtime's message); never sent. */
  detail?: string;
  provider?: string;
  /** Null when the gate withheld a class with fewer than k cases (`withheld` names it). */
  cases?: number | null;
  withheld?: ('positives' | 'negatives')[];
  excluded?: Record<string, number>;
  seconds?: number;
}

/** What the agent tells whoever runs it (the CLI prints these; PHI-free by construction). */
export interface AgentEvents {
  jobStarted?(job: Job): void;
  progress?(p: JobProgress): void;
  jobFinished?(outcome: JobOutcome): void;
  flushed?(result: FlushResult): void;
  statusesSent?(result: StatusFlush): void;
  offline?(message: string): void;
}

/** What every job of one pass works with. */
export interface JobContext {
  db: AgentDb;
  logs: AgentLogs;
  api: CloudApi;
  me: Identity;
  settings: AgentSettings;
  stateDir: string;
  events: AgentEvents;
}

/** A model already evaluated in this pass, for the paired comparison of a later model of its campaign. */
export interface ScoredModel {
  model: { vendor: string; name: string; version: string; sha256: string };
  studyScores: ReadonlyMap<string, number>;
}
