import { z } from 'zod';

/**
 * Responses of the network registry: regions, sites, vendors. Like every schema in schemas/api/, these read
 * the cloud's answers on the client; they are loose (a newer cloud may add fields) and check what callers use.
 */

const IsoTime = z.string();

export const Region = z.looseObject({ id: z.string(), name: z.string(), createdAt: IsoTime });
export const RegionList = z.looseObject({ regions: z.array(Region) });

export const Site = z.looseObject({
  id: z.string(),
  regionId: z.string(),
  name: z.string(),
  createdAt: IsoTime,
});
export const SiteList = z.looseObject({ sites: z.array(Site) });

export const Vendor = z.looseObject({ id: z.string(), name: z.string(), createdAt: IsoTime });
export const VendorList = z.looseObject({ vendors: z.array(Vendor) });

export const Health = z.looseObject({ ok: z.boolean(), version: z.string() });
