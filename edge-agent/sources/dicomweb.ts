import type { ImageSource, SourceItem } from './source.ts';

/**
 * A PACS over DICOMweb (PS3.18): QIDO-RS finds studies (by study date range; modality matched on the
 * answer's ModalitiesInStudy), then their series
 * (narrowed to the wanted modalities) and instances; WADO-RS fetches each instance as Part 10 bytes in its
 * stored transfer syntax (`transfer-syntax=*`), so the agent decodes what the archive holds rather than asking
 * the PACS to transcode.
 *
 * Paging: QIDO requests use limit/offset and continue until a short page. Only UIDs are kept in memory, one
 * study at a time. Errors name the HTTP status, never a URL with UIDs in it.
 */

export interface DicomWebOptions {
  /** Base URL of the DICOMweb service, e.g. http://pacs:8042/dicom-web */
  url: string;
  /** Study Date range, DICOM DA (YYYYMMDD), inclusive; either end may be open. */
  studyDateFrom?: string;
  studyDateTo?: string;
  /** Modalities to look for (QIDO ModalitiesInStudy at study level, Modality at series level). */
  modalities?: string[];
  /** Extra request headers, e.g. { authorization: 'Bearer …' }. */
  headers?: Record<string, string>;
  pageSize?: number;
  fetch?: typeof fetch;
}

type QidoRow = Record<string, { vr: string; Value?: unknown[] } | undefined>;

const TAG = {
  study: '0020000D',
  series: '0020000E',
  sop: '00080018',
  modality: '00080060',
  modalitiesInStudy: '00080061',
} as const;
const str = (row: QidoRow, tag: string): string | undefined => {
  const v = row[tag]?.Value?.[0];
  return typeof v === 'string' ? v : undefined;
};

export class DicomWebError extends Error {}

export function dicomWebSource(opts: DicomWebOptions): ImageSource {
  const base = opts.url.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? fetch;
  const pageSize = opts.pageSize ?? 500;
  const headers = opts.headers ?? {};

  async function qido(path: string, params: Record<string, string>): Promise<QidoRow[]> {
    const q = new URLSearchParams(params).toString();
    const res = await doFetch(`${base}${path}${q ? `?${q}` : ''}`, {
      headers: { ...headers, accept: 'application/dicom+json' },
    });
    if (res.status === 204) return [];
    if (!res.ok) throw new DicomWebError(`DICOMweb: QIDO-RS answered HTTP ${res.status}`);
    const text = await res.text();
    if (!text.trim()) return [];
    const body = JSON.parse(text) as unknown;
    if (!Array.isArray(body)) throw new DicomWebError('DICOMweb: QIDO-RS answer is not a JSON array');
    return body as QidoRow[];
  }

  async function* paged(path: string, params: Record<string, string>): AsyncGenerator<QidoRow> {
    for (let offset = 0; ; offset += pageSize) {
      const rows = await qido(path, { ...params, limit: String(pageSize), offset: String(offset) });
      yield* rows;
      if (rows.length < pageSize) return;
    }
  }

  const studyParams = (): Record<string, string> => {
    const p: Record<string, string> = {};
    if (opts.studyDateFrom || opts.studyDateTo)
      p.StudyDate = `${opts.studyDateFrom ?? ''}-${opts.studyDateTo ?? ''}`;
    // Modalities are matched here, not sent as ModalitiesInStudy: Orthanc (1.10, DICOMweb 1.7) applies
    // limit/offset before that filter, so paged answers lose studies (see test/imaging-sources.test.ts).
    return p;
  };

  async function* instances(
    signal?: AbortSignal,
  ): AsyncGenerator<{ study: string; series: string; sop: string }> {
    for await (const study of paged('/studies', studyParams())) {
      const studyUid = str(study, TAG.study);
      if (!studyUid) continue;
      const inStudy = study[TAG.modalitiesInStudy]?.Value?.filter((v): v is string => typeof v === 'string');
      if (opts.modalities?.length && inStudy?.length && !inStudy.some((m) => opts.modalities!.includes(m)))
        continue;
      const series = await qido(`/studies/${studyUid}/series`, {});
      for (const s of series) {
        const seriesUid = str(s, TAG.series);
        const modality = str(s, TAG.modality);
        if (!seriesUid) continue;
        if (opts.modalities?.length && modality && !opts.modalities.includes(modality)) continue;
        for await (const inst of paged(`/studies/${studyUid}/series/${seriesUid}/instances`, {})) {
          if (signal?.aborted) return;
          const sop = str(inst, TAG.sop);
          if (sop) yield { study: studyUid, series: seriesUid, sop };
        }
      }
    }
  }

  async function wado(study: string, series: string, sop: string): Promise<Uint8Array> {
    const res = await doFetch(`${base}/studies/${study}/series/${series}/instances/${sop}`, {
      headers: { ...headers, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
    });
    if (!res.ok) throw new DicomWebError(`DICOMweb: WADO-RS answered HTTP ${res.status}`);
    const type = res.headers.get('content-type') ?? '';
    const body = new Uint8Array(await res.arrayBuffer());
    const parts = multipartParts(body, type);
    if (parts.length !== 1) throw new DicomWebError('DICOMweb: WADO-RS answer is not one DICOM part');
    return parts[0]!;
  }

  return {
    async *items(signal?: AbortSignal): AsyncGenerator<SourceItem> {
      for await (const { study, series, sop } of instances(signal)) {
        yield { kind: 'fetch', sopInstanceUid: sop, load: () => wado(study, series, sop) };
      }
    },
    async estimate() {
      let n = 0;
      for await (const study of paged('/studies', studyParams())) {
        const inStudy = study[TAG.modalitiesInStudy]?.Value?.filter(
          (v): v is string => typeof v === 'string',
        );
        if (opts.modalities?.length && inStudy?.length && !inStudy.some((m) => opts.modalities!.includes(m)))
          continue;
        const count = Number(study['00201208']?.Value?.[0]); // NumberOfStudyRelatedInstances
        if (!Number.isFinite(count)) return undefined;
        n += count;
      }
      return n;
    },
  };
}

/** The bodies of a multipart/related message (RFC 2046), as views of `body`. */
export function multipartParts(body: Uint8Array, contentType: string): Uint8Array[] {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!/^multipart\//i.test(contentType.trim()) || !m) {
    // Some servers answer a single instance as bare application/dicom.
    return /application\/dicom/i.test(contentType) ? [body] : [];
  }
  const delimiter = new TextEncoder().encode(`--${m[1]}`);
  const find = (from: number) => {
    outer: for (let i = from; i <= body.length - delimiter.length; i++) {
      for (let k = 0; k < delimiter.length; k++) if (body[i + k] !== delimiter[k]) continue outer;
      return i;
    }
    return -1;
  };
  const parts: Uint8Array[] = [];
  let at = find(0);
  while (at >= 0) {
    let start = at + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing delimiter
    // headers end at the first blank line
    let headerEnd = -1;
    for (let i = start; i < body.length - 3; i++) {
      if (body[i] === 13 && body[i + 1] === 10 && body[i + 2] === 13 && body[i + 3] === 10) {
        headerEnd = i + 4;
        break;
      }
    }
    if (headerEnd < 0) break;
    start = headerEnd;
    const next = find(start);
    if (next < 0) break;
    // the CRLF before the delimiter belongs to the delimiter
    const end = body[next - 2] === 13 && body[next - 1] === 10 ? next - 2 : next;
    parts.push(body.subarray(start, end));
    at = next;
  }
  return parts;
}
