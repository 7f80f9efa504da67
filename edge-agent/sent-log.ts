import { eq } from 'drizzle-orm';
import type { RequestObserver, ResponseObserver } from '../client/cloud-api.ts';
import { sentLog } from './state/schema.ts';
import type { AgentDb } from './state/store.ts';

/**
 * Records every request the agent makes, body byte for byte, before it is sent — so a site can show its
 * data-protection officer exactly what ever left (`cairn agent sent`).
 */
export function logSentBytes(db: AgentDb): { request: RequestObserver; response: ResponseObserver } {
  return {
    async request({ method, url, body }) {
      const row = await db
        .insert(sentLog)
        .values({
          at: new Date().toISOString(),
          method,
          url,
          body: body ? Buffer.from(body).toString('base64') : null,
        })
        .returning({ id: sentLog.id })
        .get();
      return row.id;
    },
    async response(id, status) {
      await db.update(sentLog).set({ status }).where(eq(sentLog.id, id));
    },
  };
}
