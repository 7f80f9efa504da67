import { z } from 'zod';

/** Identifiers chosen by people (region, site, vendor, model names): safe in paths, URLs and logs. */
export const Slug = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[a-z0-9][a-z0-9._-]*$/,
    'lower-case letters, digits, ".", "_" and "-" only, starting with a letter or digit',
  );

/** Identifiers minted by the cloud (campaigns, jobs, models, keys). */
export const Id = z
  .string()
  .min(1)
  .max(80)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only');

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex sha256');

export const SemVer = z
  .string()
  .regex(
    /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/,
    'a semantic version such as 1.2.0',
  );

/**
 * A subgroup attribute a campaign names (read from labels.csv columns or the agent's DICOM attributes): a
 * short identifier, never free text.
 */
export const AttributeName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,31}$/, 'letters, digits and "_", starting with a letter, at most 32');

export const Probability = z.number().min(0).max(1);
export const Count = z.number().int().min(0);
