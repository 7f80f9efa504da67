import { readFileSync, writeFileSync } from 'node:fs';

/** What the fuzz runs; CAIRN_FUZZ_SEED=n reruns with other canaries and other hospitals. */
export const FUZZ_SEED = Number(process.env.CAIRN_FUZZ_SEED ?? 424_242);
export const SETS = 6;
export const STUDIES = 20;
export const MIN_CELL = 5;

/**
 * What each set's campaign and sites try. labels.csv always carries the patients' names and MRNs
 * (the studies' PatientName and PatientID canaries) and a benign insurance column. `columns`: the subgroup
 * columns the campaign requests; `k`: its minimum cell size (11 withholds small classes of 20 studies);
 * `dp`: the sites release with differential privacy; `held`: no release policy, so every report is held,
 * then approved (by `cairn agent review --approve` at site a) and sent on the next run; `allowPhi`: site b
 * also allow-lists PatientName and MRN, so only the value checks stand between them and the cloud.
 */
export interface SetPlan {
  columns: string[];
  k: number;
  dp: boolean;
  held: boolean;
  allowPhi: boolean;
}
export const SET_PLANS: SetPlan[] = [
  { columns: [], k: 5, dp: false, held: false, allowPhi: false },
  { columns: ['PatientName', 'MRN'], k: 5, dp: false, held: true, allowPhi: false },
  { columns: ['PatientName', 'MRN', 'insurance'], k: 11, dp: false, held: false, allowPhi: true },
  { columns: ['PatientName', 'MRN'], k: 5, dp: true, held: false, allowPhi: true },
  { columns: ['PatientName', 'MRN', 'insurance'], k: 3, dp: false, held: true, allowPhi: false },
  { columns: ['PatientName', 'MRN', 'insurance'], k: 11, dp: true, held: false, allowPhi: false },
];

/** One RFC 4180 field. */
const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/**
 * Adds PatientName, MRN and insurance columns to a generated labels.csv, from the studies' own PHI. The first
 * six negative studies belong to one patient (the first one's name and MRN): a group of 6 with one class,
 * which a gate that only merged small groups would release by value at k = 5.
 */
export function addPhiColumns(
  labelsPath: string,
  studies: readonly { studyInstanceUid: string; label: 0 | 1; labeled: boolean }[],
  planted: ReadonlyMap<string, string>,
): void {
  const samePatient = studies
    .map((st, i) => ({ st, i }))
    .filter(({ st }) => st.labeled && st.label === 0)
    .slice(0, 6)
    .map(({ i }) => i);
  const owner = (i: number) => (samePatient.includes(i) ? (samePatient[0] as number) : i);
  const index = new Map(studies.map((st, i) => [st.studyInstanceUid, owner(i)]));
  const [header, ...rows] = readFileSync(labelsPath, 'utf8').trim().split('\n');
  const out = [`${header},PatientName,MRN,insurance`];
  for (const row of rows) {
    const i = index.get(row.split(',')[0] as string) as number;
    const name = planted.get(`PatientName#${i}`) ?? '';
    const mrn = planted.get(`PatientID#${i}`) ?? '';
    out.push(`${row},${csvField(name)},${csvField(mrn)},${i % 2 ? 'PUBLIC' : 'PRIVATE'}`);
  }
  writeFileSync(labelsPath, `${out.join('\n')}\n`);
}
