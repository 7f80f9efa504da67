import { createHash } from 'node:crypto';
import type { CanaryScanner, Hit } from './canary-scanner.ts';

function placeOf(where: string): string {
  if (where.startsWith('cloud data')) return 'cloud storage';
  if (where.startsWith('wire')) return 'wire';
  if (where.startsWith('GET ')) return 'API GET sweep';
  if (where.includes(' sent log ')) return 'sent log and envelopes';
  if (where.includes(' outbox ')) return 'outbox';
  if (where.startsWith('stdout') || where.startsWith('stderr')) return 'CLI output';
  return 'in-process output';
}

/** Everything to search, deduplicated by content (the same bytes seen in several places are scanned once). */
export class Haystacks {
  private readonly byHash = new Map<string, { wheres: string[]; bytes: Buffer; local: boolean }>();
  bytesCollected = 0;
  /** Bytes collected per kind of place, before deduplication. */
  readonly byPlace: Record<string, number> = {};

  /** `local`: output on the hospital's own machine (CLI of the agent), where folder names may show. */
  add(where: string, bytes: Buffer | string, local = false): void {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    this.bytesCollected += buf.length;
    const place = placeOf(where);
    this.byPlace[place] = (this.byPlace[place] ?? 0) + buf.length;
    const key = `${local}:${createHash('sha256').update(buf).digest('hex')}`;
    const entry = this.byHash.get(key);
    if (entry) entry.wheres.push(where);
    else this.byHash.set(key, { wheres: [where], bytes: buf, local });
  }

  get count(): number {
    return this.byHash.size;
  }

  scan(scanner: CanaryScanner): Hit[] {
    const hits: Hit[] = [];
    for (const { wheres, bytes, local } of this.byHash.values()) {
      const where = wheres.length > 1 ? `${wheres[0]} (and ${wheres.length - 1} identical)` : wheres[0]!;
      const found: Hit[] = [];
      scanner.scan(where, bytes, found);
      hits.push(...found.filter((h) => !(local && h.canary.kind === 'path')));
    }
    return hits;
  }
}
