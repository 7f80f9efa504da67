import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../client/errors.ts';
import { AttributeName } from '../schemas/common.ts';
import { DEFAULT_MEMORY_BUDGET_MIB } from './pipeline/memory-budget.ts';

/**
 * The agent's settings, one JSON file beside its state (`<state>/agent.json`). Validated as a whole before it
 * is used ("plan, then apply"): every problem is reported at once, and a bad file never half-applies.
 */
export const AgentSettings = z
  .object({
    /** Folder of DICOM files, read recursively (this or `dicomweb`). */
    dicom: z.string().min(1).optional(),
    /**
     * A PACS over DICOMweb instead of a folder: QIDO-RS finds studies by date range and modality, WADO-RS
     * fetches them. An Authorization header, if the PACS needs one, comes from CAIRN_DICOMWEB_AUTHORIZATION
     * (kept out of this file).
     */
    dicomweb: z
      .object({
        url: z.url(),
        studyDateFrom: z
          .string()
          .regex(/^\d{8}$/, 'YYYYMMDD')
          .optional(),
        studyDateTo: z
          .string()
          .regex(/^\d{8}$/, 'YYYYMMDD')
          .optional(),
      })
      .strict()
      .optional(),
    /** labels.csv with columns StudyInstanceUID,label. */
    labels: z.string().min(1),
    /**
     * labels.csv columns this site lets campaigns report subgroups by (default none: a campaign may only
     * request columns). Even a listed column is refused when its values look identifying
     * (privacy/subgroup-columns.ts).
     */
    releaseColumns: z
      .array(AttributeName)
      .max(20)
      .refine(
        (cols) => new Set(cols.map((c) => c.toLowerCase())).size === cols.length,
        'a column is listed twice',
      )
      .default([]),
    /** Minimum cell size for released counts; the larger of this and the campaign's is applied. */
    minCell: z.number().int().min(0).default(5),
    device: z.enum(['auto', 'cpu', 'webgpu', 'cuda']).default('auto'),
    threads: z.number().int().min(1).max(256).optional(),
    /** Images per inference run; by default sized for the provider (8 on the CPU, 32 on a GPU). */
    batchSize: z.number().int().min(1).max(1024).optional(),
    /**
     * Optional differential privacy on released outcome counts: ε spent per report, and the most this site
     * spends on one campaign (the ledger refuses a release that would go past it). ε is split in two halves
     * and the sampler resolves ε to 0.001, so the least ε per report is 0.002.
     */
    dp: z
      .object({
        epsilonPerReport: z.number().min(0.002).max(100),
        budgetPerCampaign: z.number().positive(),
      })
      .strict()
      .optional(),
    /** Run only models whose vendor signature the agent can verify (a campaign may also require it). */
    requireSignedModels: z.boolean().default(false),
    /** Decode worker threads; by default one fewer than the cores. */
    workers: z.number().int().min(1).max(64).optional(),
    /**
     * What a run may hold, in MiB (default 2 GiB): batch size and workers are derived from the manifest's input
     * size to stay within it, and an input too large for it fails the job (pipeline/memory-budget.ts).
     */
    memoryBudgetMiB: z
      .number()
      .int()
      .min(256)
      .max(1024 * 1024)
      .default(DEFAULT_MEMORY_BUDGET_MIB),
    /** How often `agent run` polls for jobs when not `--once`. */
    pollSeconds: z.number().int().min(1).default(30),
    /**
     * The hospital's own endpoint (its AI orchestrator) that hears of each change of a rollout state in this
     * site's region: a JSON notice, signed with HMAC-SHA256 of the body under `secret` (rollout-notices.ts).
     */
    rolloutWebhook: z
      .object({ url: z.url({ protocol: /^https?$/ }), secret: z.string().min(16).max(512) })
      .strict()
      .optional(),
  })
  .strict()
  .refine((s) => Boolean(s.dicom) !== Boolean(s.dicomweb), {
    message: 'give exactly one image source: dicom (a folder) or dicomweb (a PACS)',
  });
export type AgentSettings = z.infer<typeof AgentSettings>;

export const settingsPath = (stateDir: string) => join(stateDir, 'agent.json');

/** Checks what can only be checked on this host; returns one line per problem (empty when fine). */
export function planSettings(settings: AgentSettings): string[] {
  const problems: string[] = [];
  if (
    settings.dicom !== undefined &&
    (!existsSync(settings.dicom) || !statSync(settings.dicom).isDirectory())
  )
    problems.push(`dicom: ${settings.dicom} is not a folder`);
  if (!existsSync(settings.labels) || !statSync(settings.labels).isFile())
    problems.push(`labels: ${settings.labels} is not a file`);
  return problems;
}

export function readSettings(stateDir: string, overrides: Partial<AgentSettings> = {}): AgentSettings {
  const file = settingsPath(stateDir);
  let stored: unknown = {};
  if (existsSync(file)) {
    try {
      stored = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new UserError(`${file}: not valid JSON`);
    }
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const parsed = AgentSettings.safeParse({ ...(stored as object), ...defined });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`);
    throw new UserError(`agent settings are invalid (${file}): ${issues.join('; ')}`);
  }
  const settings = {
    ...parsed.data,
    ...(parsed.data.dicom ? { dicom: resolve(parsed.data.dicom) } : {}),
    labels: resolve(parsed.data.labels),
  };
  // The DICOM folder and labels.csv are checked by each job (dicom-folder-unreadable, labels-unreadable): a
  // folder that vanished (an unmounted share) fails that job, it does not stop the agent.
  return settings;
}

export function writeSettings(stateDir: string, settings: AgentSettings): void {
  writeFileSync(settingsPath(stateDir), `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
}
