import { z } from 'zod';
import { AttributeName, Count, Id, Sha256Hex, Slug } from './common.ts';
import { ModelManifest } from './model-manifest.ts';
import { Ed25519PublicKey, ModelSignature, VendorKeyId } from './model-signature.ts';

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
        /**
         * The vendor's signature and the key it verified against, present only for signed models (so agents
         * built before signing see exactly the old shape for unsigned ones). The agent verifies it again
         * (edge-agent/model-signature.ts) over the bytes it downloaded before it loads them.
         */
        signature: ModelSignature.optional(),
        vendorKey: z.object({ keyId: VendorKeyId, publicKey: Ed25519PublicKey }).strict().optional(),
      })
      .strict(),
    /** Campaign-fixed histogram bin edges, strictly increasing. */
    binEdges: z.array(z.number()).min(2),
    /** Minimum cell size the campaign asks for; the site may apply a larger one. */
    minCell: Count,
    /**
     * Subgroup attributes the campaign asks for beyond the standard ones (sex, ageBand, manufacturer,
     * scannerModel, bodyPart): columns of the site's labels.csv, reported under the same privacy rules.
     */
    subgroupAttributes: z.array(AttributeName).max(10).optional(),
    /**
     * Raised by each coordinator's rerun (absent: the first attempt, the shape older agents know). An agent
     * that failed the job runs it again when it sees a higher attempt.
     */
    attempt: z.number().int().min(2).max(1_000_000).optional(),
  })
  .strict();
export type Job = z.infer<typeof Job>;
