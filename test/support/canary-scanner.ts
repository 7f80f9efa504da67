import { gunzipSync } from 'node:zlib';
import type { Canary } from './phi-canaries.ts';

/**
 * The scanner: every needle form of every canary, anchored on its first 8 bytes, matched case-insensitively
 * over a Latin-1 view of the bytes (one character per byte), then inside base64, hex and gzip runs.
 */

interface Needle {
  /** Lower-cased Latin-1 view of the needle's bytes. */
  text: string;
  form: string;
  canary: Canary;
  /** Dates: not part of a longer number (a float's digits could otherwise match by chance). */
  bounded: boolean;
}

export interface Hit {
  canary: Canary;
  form: string;
  where: string;
  offset: number;
  context: string;
}

const ANCHOR = 8;
export const isLatin1 = (s: string) => [...s].every((ch) => ch.codePointAt(0)! <= 0xff);
export const asciiJson = (s: string) =>
  JSON.stringify(s)
    .slice(1, -1)
    .replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);

function needleForms(c: Canary): { form: string; bytes: Buffer; bounded?: boolean }[] {
  const v = c.value;
  if (c.kind === 'date')
    return [
      { form: 'raw', bytes: Buffer.from(v), bounded: true },
      {
        form: 'ISO date',
        bytes: Buffer.from(`${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6)}`),
        bounded: true,
      },
    ];
  if (c.kind === 'uid') {
    const out = [{ form: 'raw', bytes: Buffer.from(v) }];
    const digits = v.replace(/^2\.25\./, '');
    if (digits !== v && digits.length >= 16)
      out.push({ form: 'UID without its root', bytes: Buffer.from(digits) });
    return out;
  }
  const forms: { form: string; bytes: Buffer }[] = [
    { form: 'UTF-8', bytes: Buffer.from(v, 'utf8') },
    { form: 'JSON-escaped', bytes: Buffer.from(JSON.stringify(v).slice(1, -1), 'utf8') },
    { form: 'JSON \\u-escaped', bytes: Buffer.from(asciiJson(v), 'utf8') },
    { form: 'UTF-8 read as Latin-1', bytes: Buffer.from(Buffer.from(v, 'utf8').toString('latin1'), 'utf8') },
    { form: 'URL-encoded', bytes: Buffer.from(encodeURIComponent(v)) },
    { form: 'UTF-16LE', bytes: Buffer.from(v, 'utf16le') },
  ];
  if (isLatin1(v)) forms.push({ form: 'Latin-1', bytes: Buffer.from(v, 'latin1') });
  if (c.core)
    forms.push(
      { form: `core ${c.core}, any case`, bytes: Buffer.from(c.core) },
      { form: `core ${c.core} as UTF-16LE`, bytes: Buffer.from(c.core, 'utf16le') },
    );
  return forms;
}

export class CanaryScanner {
  private readonly byAnchor = new Map<string, Needle[]>();
  needles = 0;
  bytesScanned = 0;

  constructor(canaries: Iterable<Canary>) {
    for (const c of canaries) {
      const seen = new Set<string>();
      for (const f of needleForms(c)) {
        const text = f.bytes.toString('latin1').toLowerCase();
        if (text.length < ANCHOR || seen.has(text)) continue;
        seen.add(text);
        const anchor = text.slice(0, ANCHOR);
        let list = this.byAnchor.get(anchor);
        if (!list) {
          list = [];
          this.byAnchor.set(anchor, list);
        }
        list.push({ text, form: f.form, canary: c, bounded: f.bounded ?? false });
        this.needles++;
      }
    }
  }

  scan(where: string, bytes: Buffer, hits: Hit[], depth = 0, baseOffset = 0): void {
    this.bytesScanned += bytes.length;
    const original = bytes.toString('latin1');
    const s = original.toLowerCase();
    for (let i = 0; i + ANCHOR <= s.length; i++) {
      const list = this.byAnchor.get(s.substr(i, ANCHOR));
      if (!list) continue;
      for (const n of list) {
        if (!s.startsWith(n.text, i)) continue;
        if (n.bounded && (/[\d.]/.test(s.charAt(i - 1)) || /\d/.test(s.charAt(i + n.text.length)))) continue;
        hits.push({
          canary: n.canary,
          form: n.form,
          where,
          offset: baseOffset + i,
          context: JSON.stringify(original.slice(Math.max(0, i - 40), i + n.text.length + 40)),
        });
      }
    }
    if (depth >= 2) return;
    // Encodings an implementation might wrap a value in: look inside each run at every alignment.
    for (const m of original.matchAll(/[A-Za-z0-9+/_-]{16,}={0,2}/g)) {
      const run = m[0].replace(/-/g, '+').replace(/_/g, '/');
      for (let k = 0; k < 4; k++) {
        const decoded = Buffer.from(run.slice(k), 'base64');
        if (decoded.length >= ANCHOR)
          this.scan(
            `${where} › base64 run at byte ${m.index}`,
            decoded,
            hits,
            depth + 1,
            baseOffset + m.index,
          );
      }
    }
    for (const m of original.matchAll(/[0-9a-fA-F]{16,}/g))
      for (let k = 0; k < 2; k++) {
        const decoded = Buffer.from(m[0].slice(k, m[0].length - ((m[0].length - k) % 2)), 'hex');
        this.scan(`${where} › hex run at byte ${m.index}`, decoded, hits, depth + 1, baseOffset + m.index);
      }
    for (let i = original.indexOf('\x1f\x8b\x08'); i >= 0; i = original.indexOf('\x1f\x8b\x08', i + 1)) {
      try {
        this.scan(
          `${where} › gzip at byte ${i}`,
          gunzipSync(bytes.subarray(i)),
          hits,
          depth + 1,
          baseOffset + i,
        );
      } catch {
        // not a gzip stream after all
      }
    }
  }
}

export function describeHits(hits: Hit[]): string {
  // One line per canary and place (the most specific form), worst first.
  const best = new Map<string, Hit>();
  for (const h of hits) {
    const key = `${h.canary.value}\0${h.where}`;
    const prev = best.get(key);
    if (!prev || h.form.length < prev.form.length) best.set(key, h);
  }
  const depth = (h: Hit) => h.where.split('›').length;
  const lines = [...best.values()]
    .sort((a, b) => depth(a) - depth(b) || a.where.localeCompare(b.where))
    .map(
      (h) =>
        `PHI canary of ${h.canary.tag} (${h.canary.origin}) ${JSON.stringify(h.canary.value)} found in ${h.where} ` +
        `at byte ${h.offset} as ${h.form}: …${h.context}…`,
    );
  return `${lines.length} leak(s):\n${lines.slice(0, 25).join('\n')}${lines.length > 25 ? '\n…' : ''}`;
}
