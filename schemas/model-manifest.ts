import { z } from 'zod';
import { SemVer, Sha256Hex, Slug } from './common.ts';

/**
 * The model manifest (`cairn.model/v1`): what a vendor declares about a model, and everything the edge agent
 * needs to turn a DICOM image into the model's input tensor and its output into a study-level score.
 */

/** DICOM Modality (0008,0060) values: upper-case defined terms such as CT, CR, DX, MR. */
const Modality = z.string().regex(/^[A-Z]{2,4}$/, 'a DICOM Modality value such as CT');
/** DICOM Body Part Examined (0018,0015) values such as CHEST. */
const BodyPart = z.string().regex(/^[A-Z0-9 _]{1,16}$/, 'a DICOM Body Part Examined value such as CHEST');

export const VoiWindow = z
  .object({
    /** Window Center (0028,1050) applied to rescaled values (Modality LUT first). */
    center: z.number(),
    /** Window Width (0028,1051); the linear VOI LUT function requires width >= 1. */
    width: z.number().min(1),
  })
  .strict();

export const ModelInput = z
  .object({
    name: z.string().min(1).max(128),
    channels: z.union([z.literal(1), z.literal(3)]),
    height: z.number().int().min(1).max(4096),
    width: z.number().int().min(1).max(4096),
    /** Linear VOI LUT (PS3.3 C.11.2.1.2.1) to [0,1]; without it the rescaled value itself is used. */
    window: VoiWindow.optional(),
    /** (v − mean) / std after windowing. */
    normalize: z
      .object({ mean: z.number(), std: z.number().positive() })
      .strict()
      .default({ mean: 0, std: 1 }),
    /** Resampling when the image is not already height × width. */
    resize: z.literal('bilinear').default('bilinear'),
  })
  .strict();

export const ModelOutput = z
  .object({
    name: z.string().min(1).max(128),
    activation: z.enum(['sigmoid', 'none']),
    /** Which element of the output's last axis is the positive-class score. */
    index: z.number().int().min(0).default(0),
  })
  .strict();

export const ModelManifest = z
  .object({
    schema: z.literal('cairn.model/v1'),
    vendor: Slug,
    name: Slug,
    version: SemVer,
    task: z.literal('binary-classification'),
    modality: z.array(Modality).min(1),
    bodyPart: z.array(BodyPart).min(1).optional(),
    /** Optional: View Position (0018,5101) values the model is meant for, e.g. ["PA", "AP"] for chest X-ray. */
    viewPosition: z
      .array(z.string().regex(/^[A-Z0-9 _]{1,16}$/, 'a DICOM View Position value such as PA'))
      .min(1)
      .optional(),
    /**
     * Optional: Image Type (0008,0008) values an image must all carry, e.g. ["ORIGINAL", "PRIMARY"] keeps
     * acquired images and drops derived ones (MPRs, MIPs, screenshots).
     */
    imageType: z
      .array(z.string().regex(/^[A-Z0-9 _]{1,16}$/, 'a DICOM Image Type value such as ORIGINAL'))
      .min(1)
      .optional(),
    input: ModelInput,
    output: ModelOutput,
    /** Locked operating threshold: a study is called positive when its score >= threshold. */
    threshold: z.number(),
    studyAggregation: z.enum(['max', 'mean']),
    /** sha256 of the ONNX bytes; optional on submission, pinned by the cloud, checked by the agent. */
    sha256: Sha256Hex.optional(),
    description: z.string().max(2000).optional(),
  })
  .strict();

export type ModelManifest = z.infer<typeof ModelManifest>;
export type ModelManifestInput = z.input<typeof ModelManifest>;
