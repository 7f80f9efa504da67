import { z } from 'zod';

/** Responses about signing keys: a site's (/v1/sites/:id/keys…) and a vendor's (/v1/vendors/:id/keys…). */

export const SiteKey = z.looseObject({
  keyId: z.string(),
  publicKey: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  revokedReason: z.enum(['rotated', 'revoked']).nullable(),
});
export const SiteKeyList = z.looseObject({ keys: z.array(SiteKey) });
export const RevokedSiteKey = z.looseObject({ siteId: z.string(), keyId: z.string(), revokedAt: z.string() });

export const VendorKey = z.looseObject({
  keyId: z.string(),
  vendorId: z.string(),
  publicKey: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export const VendorKeyList = z.looseObject({ keys: z.array(VendorKey) });
