import { z } from 'zod';
import { Count, Id, Sha256Hex, Slug } from './common.ts';
import { ModelManifest } from './model-manifest.ts';

/** An evaluation job as an agent pulls it: one model version to evaluate at one site for one campaign. */
export const Job = z
  .object({
    jobId: Id,
    campaignId: Id,
    siteId: Slug,
    status: z.enum(['pending', 'done']),
    model: z
      .object({
        modelId: Id,
        sha256: Sha256Hex,
        manifest: ModelManifest,
        /** Path (relative to the cloud's base URL) or absolute URL of the ONNX bytes. */
        downloadUrl: z.string().min(1),
      })
      .strict(),
    /** Campaign-fixed histogram bin edges, strictly increasing. */
    binEdges: z.array(z.number()).min(2),
    /** Minimum cell size the campaign asks for; the site may apply a larger one. */
    minCell: Count,
  })
  .strict();
export type Job = z.infer<typeof Job>;
