import { z } from 'zod';
import { Count, Slug } from './common.ts';

/**
 * A pilot scenario (`cairn demo --scenario FILE.json`): the user's own models, DICOM folders and labels,
 * grouped into regions and sites, and optionally the campaign's acceptance criteria (a cairn.criteria/v1 file
 * or the object inline). Paths are relative to the scenario file.
 */
export const Scenario = z
  .object({
    bins: z.number().int().min(2).max(1000).default(20),
    minCell: Count.default(5),
    /** Checked as cairn.criteria/v1 when the scenario is loaded (cli/demo/scenario-criteria.ts). */
    criteria: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    models: z.array(z.object({ manifest: z.string().min(1), onnx: z.string().min(1) }).strict()).min(1),
    regions: z
      .array(
        z
          .object({
            id: Slug,
            sites: z
              .array(z.object({ id: Slug, dicom: z.string().min(1), labels: z.string().min(1) }).strict())
              .min(1),
          })
          .strict(),
      )
      .min(1),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    for (const region of s.regions)
      for (const site of region.sites) {
        if (seen.has(site.id))
          ctx.addIssue({ code: 'custom', message: `site id "${site.id}" is used twice` });
        seen.add(site.id);
      }
  });
export type Scenario = z.infer<typeof Scenario>;
