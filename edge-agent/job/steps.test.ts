import { describe, expect, it } from 'vitest';
import { CloudRefusal } from '../../client/cloud-api.ts';
import { UserError } from '../../client/errors.ts';
import { JobFailure } from '../pipeline/job-failure.ts';
import { type JobStep, JobTrace } from './steps.ts';

const failureIn = async (step: JobStep, err: unknown) => {
  const trace = new JobTrace();
  await trace.run(step, () => undefined);
  return trace.failureOf(err);
};

describe('JobTrace: what an error in a step fails the job as', () => {
  it('a JobFailure keeps its own code in any step', async () => {
    expect(await failureIn('enqueue', new JobFailure('privacy-budget-exhausted'))).toBe(
      'privacy-budget-exhausted',
    );
    expect(await failureIn('read-inputs', new JobFailure('labels-unreadable', 'line 2'))).toBe(
      'labels-unreadable',
    );
  });

  it('an unexpected error while getting or loading the model is model-load-failed; while scoring, inference-failed', async () => {
    expect(await failureIn('fetch-model', new Error('socket hang up'))).toBe('model-load-failed');
    expect(await failureIn('load-session', new Error('bad graph'))).toBe('model-load-failed');
    expect(await failureIn('score', new Error('Non-zero status code'))).toBe('inference-failed');
    // The runtime says 'inference: …' when the model lacks the manifest's input or output.
    expect(await failureIn('score', new Error("inference: the model has no input named 'x'"))).toBe(
      'model-load-failed',
    );
  });

  it('a refused model download fails the job; the same refusal elsewhere ends the run', async () => {
    const refusal = new CloudRefusal(404, 'not-found', 'gone');
    expect(await failureIn('fetch-model', refusal)).toBe('model-load-failed');
    expect(await failureIn('enqueue', refusal)).toBeUndefined();
  });

  it('a bug, a site configuration error, or an error after scoring ends the run (undefined): the job stays pending', async () => {
    expect(await failureIn('score', new TypeError('x is undefined'))).toBeUndefined();
    expect(await failureIn('fetch-model', new UserError('settings: bad'))).toBeUndefined();
    expect(await failureIn('build-report', new Error('disk full'))).toBeUndefined();
    expect(await failureIn('score', 'a string')).toBeUndefined();
  });
});
