import type { TokenRole } from '../db/schema.ts';

/** Who is calling, as the bearer token says. Scope fields are null when the role has no such scope. */
export interface Principal {
  tokenId: string;
  role: TokenRole;
  vendorId: string | null;
  /** Coordinator scope; null means every region. */
  regionIds: string[] | null;
  siteId: string | null;
  /** The person a coordinator or admin token belongs to, where its issuer named one. */
  personId: string | null;
}

/** The hono environment shared by every route of the cloud API. */
export interface AppEnv {
  Variables: {
    principal: Principal;
    /** The error code of the response, for the operational log. */
    errorCode: string;
  };
}
