import type { PredictionCache } from '../state/predictions.ts';
import type { RunAccounting } from './accounting.ts';
import type { StudyAggregator } from './aggregate.ts';
import { ClaimSet } from './dedupe.ts';
import type { StudyAttributes } from './study-attributes.ts';

/** What becomes of an instance whose header passed selection. */
export type Admitted = 'decode' | 'cached' | 'duplicate';
/** What becomes of an item whose source named its UID before the download (DICOMweb). */
export type Preadmitted = 'download' | 'cached' | 'duplicate';

export interface AdmittedHeader {
  id: number;
  sopInstanceUid: string;
  studyInstanceUid: string;
  attributes: StudyAttributes;
}

/**
 * Duplicates and the prediction cache, decided per instance before any decoding. The first item with a SOP
 * Instance UID that passes selection claims it; later ones are 'duplicate-instance' whatever happens to the
 * first. A claimed instance the cache holds is used without decoding or inference. Decisions are counted
 * here (cached: used; duplicate: excluded); the caller tells the worker. A decision that needs the disk
 * (claims spilled, the cache) comes back as a promise.
 */
export class Admission {
  readonly #claims = new ClaimSet();
  /** Items claimed by the UID their source named before the download (id → SOP Instance UID). */
  readonly #preclaims = new Map<number, string>();
  /** Per study, the subgroup attributes of its first admitted instance. */
  readonly attributes = new Map<string, StudyAttributes>();

  constructor(
    private readonly cache: PredictionCache | undefined,
    private readonly accounting: RunAccounting,
    private readonly aggregator: StudyAggregator,
  ) {}

  admit(h: AdmittedHeader): Admitted | Promise<Admitted> {
    const preclaimed = this.#preclaims.get(h.id);
    this.#preclaims.delete(h.id);
    const claim = preclaimed === h.sopInstanceUid ? true : this.#claims.claim(h.sopInstanceUid);
    if (claim === true) return this.#claimed(h);
    if (claim === false) return this.#duplicate();
    return claim.then((ok) => (ok ? this.#claimed(h) : this.#duplicate()));
  }

  /**
   * A duplicate, or an instance this model already scored, is settled before its bytes are downloaded. A
   * cached instance is used without the download only once its study's attributes are known (from another
   * instance's header in this run), so subgroups stay complete.
   */
  async preadmit(id: number, sop: string): Promise<Preadmitted> {
    if (!(await this.#claims.claim(sop))) return this.#duplicate();
    this.#preclaims.set(id, sop);
    const hit = this.cache ? await this.cache.get(sop) : undefined;
    if (!hit || !this.attributes.has(hit.studyInstanceUid)) return 'download';
    this.#preclaims.delete(id);
    this.accounting.useCached(true);
    this.aggregator.addInstance(hit.studyInstanceUid, hit.scoreMax, hit.scoreSum, hit.frames);
    return 'cached';
  }

  /** The item ended before its header (unreadable, or its download failed). */
  forget(id: number): void {
    this.#preclaims.delete(id);
  }

  close(): Promise<void> {
    return this.#claims.close();
  }

  #claimed(h: AdmittedHeader): Admitted | Promise<Admitted> {
    if (!this.attributes.has(h.studyInstanceUid)) this.attributes.set(h.studyInstanceUid, h.attributes);
    if (!this.cache) return 'decode';
    return this.cache.get(h.sopInstanceUid).then((hit) => {
      if (!hit) return 'decode';
      this.accounting.useCached();
      this.aggregator.addInstance(h.studyInstanceUid, hit.scoreMax, hit.scoreSum, hit.frames);
      return 'cached';
    });
  }

  #duplicate(): 'duplicate' {
    this.accounting.exclude('duplicate-instance');
    return 'duplicate';
  }
}
