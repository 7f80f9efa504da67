import { and, eq, inArray } from 'drizzle-orm';
import { predictions } from './schema.ts';
import type { AgentDb } from './store.ts';

/** What the pipeline remembers about one scored instance. */
export interface CachedPrediction {
  studyInstanceUid: string;
  frames: number;
  scoreMax: number;
  scoreSum: number;
}

/** The pipeline's view of the cache, bound to one model: its ONNX bytes and preprocessing (predictionCacheKey). */
export interface PredictionCache {
  get(sopInstanceUid: string): Promise<CachedPrediction | undefined>;
  /** Many at once (one round trip); the map holds only UIDs that are cached. */
  getMany?(sopInstanceUids: string[]): Promise<Map<string, CachedPrediction>>;
  put(rows: (CachedPrediction & { sopInstanceUid: string })[]): Promise<void>;
}

export function predictionCache(db: AgentDb, modelKey: string): PredictionCache {
  const toCached = (r: typeof predictions.$inferSelect): CachedPrediction => ({
    studyInstanceUid: r.studyInstanceUid,
    frames: r.frames,
    scoreMax: r.scoreMax,
    scoreSum: r.scoreSum,
  });
  return {
    async get(sop) {
      const row = await db
        .select()
        .from(predictions)
        .where(and(eq(predictions.modelSha256, modelKey), eq(predictions.sopInstanceUid, sop)))
        .get();
      return row ? toCached(row) : undefined;
    },
    async getMany(sops) {
      const out = new Map<string, CachedPrediction>();
      for (let i = 0; i < sops.length; i += 500) {
        const rows = await db
          .select()
          .from(predictions)
          .where(
            and(
              eq(predictions.modelSha256, modelKey),
              inArray(predictions.sopInstanceUid, sops.slice(i, i + 500)),
            ),
          )
          .all();
        for (const r of rows) out.set(r.sopInstanceUid, toCached(r));
      }
      return out;
    },
    async put(rows) {
      if (rows.length === 0) return;
      const createdAt = new Date().toISOString();
      await db
        .insert(predictions)
        .values(rows.map((r) => ({ ...r, modelSha256: modelKey, createdAt })))
        .onConflictDoNothing();
    },
  };
}

/** An in-memory cache with the same contract (tests, and `agent score` without a state folder). */
export function memoryPredictionCache(): PredictionCache & { size(): number } {
  const map = new Map<string, CachedPrediction>();
  return {
    async get(sop) {
      return map.get(sop);
    },
    async put(rows) {
      for (const { sopInstanceUid, ...rest } of rows)
        if (!map.has(sopInstanceUid)) map.set(sopInstanceUid, rest);
    },
    size: () => map.size,
  };
}
