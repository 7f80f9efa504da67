import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../../client/errors.ts';
import { Id } from '../../schemas/common.ts';
import type { SiteReport } from '../../schemas/site-report.ts';

/**
 * A site's written release policy (`<state>/release-policy.json`). By default nothing leaves the hospital
 * until a site admin approves it (`cairn agent review`); a policy lets the site pre-approve reports that meet
 * stated conditions, e.g. "campaign X, evaluation reports, minimum cell size at least 10".
 */
export const ReleasePolicy = z
  .object({
    schema: z.literal('cairn.release-policy/v1'),
    autoApprove: z
      .array(
        z
          .object({
            /** A campaign id, or "*" for every campaign. */
            campaign: z.union([Id, z.literal('*')]),
            kind: z.enum(['evaluation']).default('evaluation'),
            /** Approve only reports whose applied minimum cell size is at least this (0: even unsuppressed). */
            minCellAtLeast: z.number().int().min(0),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
export type ReleasePolicy = z.infer<typeof ReleasePolicy>;

export const releasePolicyPath = (stateDir: string) => join(stateDir, 'release-policy.json');

/** Reads the policy; none means "hold everything for review". A bad file is an error, never "approve all". */
export function readReleasePolicy(stateDir: string): ReleasePolicy | null {
  const file = releasePolicyPath(stateDir);
  return existsSync(file) ? loadReleasePolicyFile(file) : null;
}

export function loadReleasePolicyFile(file: string): ReleasePolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(
      `${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not valid JSON'}`,
    );
  }
  const parsed = ReleasePolicy.safeParse(raw);
  if (!parsed.success)
    throw new UserError(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'policy'}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

export type ReleaseDecision = { release: 'auto-approved'; rule: number } | { release: 'held' };

/** Whether a gated report may leave without a person looking at it, and under which rule. */
export function decideRelease(report: SiteReport, policy: ReleasePolicy | null): ReleaseDecision {
  const rules = policy?.autoApprove ?? [];
  const rule = rules.findIndex(
    (r) => (r.campaign === '*' || r.campaign === report.campaignId) && report.minCell >= r.minCellAtLeast,
  );
  return rule >= 0 ? { release: 'auto-approved', rule } : { release: 'held' };
}

export function writeReleasePolicy(stateDir: string, policy: ReleasePolicy): void {
  writeFileSync(releasePolicyPath(stateDir), `${JSON.stringify(policy, null, 2)}\n`, { mode: 0o600 });
}

/** One line for people: what this policy lets out without review. */
export function describeReleasePolicy(policy: ReleasePolicy): string {
  if (policy.autoApprove.length === 0) return 'no automatic approval — every report waits for review';
  return policy.autoApprove
    .map(
      (r) =>
        `auto-approve ${r.kind} reports of ${r.campaign === '*' ? 'every campaign' : `campaign ${r.campaign}`} with minimum cell size ≥ ${r.minCellAtLeast}`,
    )
    .join('; ');
}
