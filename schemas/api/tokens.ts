import { z } from 'zod';

/** Responses of /v1/tokens (see network.ts for what these schemas are for). */

export const IssuedToken = z.looseObject({
  id: z.string(),
  token: z.string(),
  role: z.string(),
  expiresAt: z.string().nullable(),
});

export const ListedToken = z.looseObject({
  id: z.string(),
  role: z.string(),
  vendorId: z.string().nullable(),
  regionIds: z.array(z.string()).nullable(),
  siteId: z.string().nullable(),
  label: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
});
export const TokenList = z.looseObject({ tokens: z.array(ListedToken) });

export const RevokedToken = z.looseObject({ id: z.string(), revokedAt: z.string() });
