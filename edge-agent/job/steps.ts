import { CloudError, CloudRefusal } from '../../client/cloud-api.ts';
import { UserError } from '../../client/errors.ts';
import type { JobFailureCounts, JobFailureReason } from '../../schemas/job-status.ts';
import { JobFailure } from '../pipeline/job-failure.ts';

/** The job's steps, in the order they run (chain.ts). */
export const JOB_STEPS = [
  'fetch-model',
  'verify-model',
  'check-budget',
  'read-inputs',
  'load-session',
  'score',
  'join-labels',
  'build-report',
  'gate',
  'release',
  'enqueue',
] as const;
export type JobStep = (typeof JOB_STEPS)[number];

/** What an unexpected error (not a JobFailure) in a step fails the job as; undefined: it ends the run. */
const UNEXPECTED: Partial<Record<JobStep, JobFailureReason>> = {
  'fetch-model': 'model-load-failed',
  'verify-model': 'model-load-failed',
  'load-session': 'model-load-failed',
  score: 'inference-failed',
};

const PROGRAMMING_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/** Which step a job is in, and its last progress counts (sent with a failure). */
export class JobTrace {
  step: JobStep = JOB_STEPS[0];
  counts: JobFailureCounts | undefined;

  async run<T>(step: JobStep, work: () => T | Promise<T>): Promise<T> {
    this.step = step;
    return await work();
  }

  /**
   * What `err`, thrown in the current step, fails the job as:
   * - a `JobFailure` (the model cannot load or run, no usable input, unreadable labels, …) fails it with its code;
   * - the model's download refused (gone, or not this site's) is model-load-failed;
   * - any other error while getting the model or from ONNX Runtime fails it as model-load-failed (download,
   *   session creation, or a model without the manifest's input/output) or inference-failed (a run);
   * - a programming error (TypeError, …), a site configuration error (`UserError`), or anything after scoring
   *   would fail every job alike: undefined, so it ends the run with its one line and the job stays pending.
   */
  failureOf(err: unknown): JobFailureReason | undefined {
    if (err instanceof JobFailure) return err.code;
    if (err instanceof CloudRefusal) return this.step === 'fetch-model' ? 'model-load-failed' : undefined;
    if (err instanceof UserError || err instanceof CloudError || !(err instanceof Error)) return undefined;
    if (PROGRAMMING_ERRORS.some((E) => err instanceof E)) return undefined;
    const failure = UNEXPECTED[this.step];
    // pipeline/infer.ts says 'inference: …' when no provider could create the session or the model lacks the
    // manifest's input or output.
    if (failure === 'inference-failed' && err.message.startsWith('inference: ')) return 'model-load-failed';
    return failure;
  }
}
