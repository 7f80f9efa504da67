import { z } from 'zod';

/** Responses of /v1/models: submissions, direct uploads, listings. */

export const SubmittedModel = z.looseObject({
  modelId: z.string(),
  sha256: z.string(),
  manifest: z.looseObject({}),
  signingKeyId: z.string().nullable(),
});

export const DirectUpload = z.looseObject({
  uploadId: z.string(),
  url: z.string(),
  method: z.literal('PUT'),
  size: z.number(),
  urlExpiresAt: z.string(),
  expiresAt: z.string(),
});

export const ListedModel = z.looseObject({
  modelId: z.string(),
  vendor: z.string(),
  name: z.string(),
  version: z.string(),
  sha256: z.string(),
  manifest: z.looseObject({}),
  signingKeyId: z.string().nullable(),
  createdAt: z.string(),
});
export const ModelList = z.looseObject({ models: z.array(ListedModel) });
