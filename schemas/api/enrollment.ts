import { z } from 'zod';

/** Responses of enrollment: the one-time token a coordinator makes, and what a site gets for it. */

export const EnrollmentToken = z.looseObject({
  token: z.string(),
  siteId: z.string(),
  expiresAt: z.string(),
});

export const Enrollment = z.looseObject({
  siteId: z.string(),
  regionId: z.string(),
  keyId: z.string(),
  apiToken: z.string(),
});
