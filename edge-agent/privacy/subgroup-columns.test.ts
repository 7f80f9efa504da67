import { describe, expect, it } from 'vitest';
import { checkLevels, decideSubgroupColumns, looksIdentifying } from './subgroup-columns.ts';

const repeat = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));

describe('subgroup columns a site releases', () => {
  it('identifier shapes: UIDs, dates, digit runs, MRN-like ids and DICOM person names', () => {
    for (const v of [
      '1.2.840.113619.2.55.3',
      '2.25.1234',
      '19700101',
      '1970-01-01',
      '2019-03-12T10:00',
      '31.12.1970',
      '12/31/70',
      'MRN00424242',
      'PT-1234',
      'A12345',
      'tel 0221 478 5000 x123456',
      'DOE^JOHN',
      'Müller^Hans^^Dr.',
    ])
      expect(looksIdentifying(v), v).toBe(true);
    for (const v of [
      'SIEMENS',
      'GE MEDICAL SYSTEMS',
      'SOMATOM X',
      'Optima CT660',
      'CHEST',
      'private',
      'A',
      '3T',
    ])
      expect(looksIdentifying(v), v).toBe(false);
  });

  it('levels: more than 40, or more than a third of the cases, are refused; sex and ageBand are closed sets', () => {
    expect(
      checkLevels(
        'insurance',
        repeat(300, (i) => `PLAN ${i % 41}`),
      ),
    ).toBe('too-many-levels');
    expect(
      checkLevels(
        'insurance',
        repeat(300, (i) => `PLAN ${i % 40}`),
      ),
    ).toBe(undefined);
    // 7 levels over 20 cases: 7 > 6.6
    expect(
      checkLevels(
        'ward',
        repeat(20, (i) => `WARD ${String.fromCharCode(65 + (i % 7))}`),
      ),
    ).toBe('level-density');
    expect(
      checkLevels(
        'ward',
        repeat(20, (i) => `WARD ${String.fromCharCode(65 + (i % 6))}`),
      ),
    ).toBe(undefined);
    // Missing values count as cases but not as levels; spelling variants of one value are one level.
    expect(checkLevels('ward', [...repeat(18, () => undefined), 'icu', 'ICU '])).toBe(undefined);
    expect(checkLevels('ageBand', ['0-17', '18-39', '40-59', '60-74', '75+'])).toBe(undefined);
    expect(checkLevels('sex', ['M', 'F', 'O'])).toBe(undefined);
    expect(checkLevels('manufacturer', ['GE', 'SIEMENS', 'PHILIPS'])).toBe('level-density');
  });

  it('a campaign only requests: labels columns need the site’s allow-list, then the value checks', () => {
    const cases = repeat(30, (i) => ({
      sex: i % 2 ? 'F' : 'M',
      manufacturer: 'GE',
      scannerModel: i < 29 ? 'Revolution' : 'SN 4711234', // one technician typed a serial number
      PatientName: `DOE^JOHN${i}`,
      MRN: `MRN00${424200 + i}`,
      insurance: i % 3 ? 'PUBLIC' : 'PRIVATE',
      visit: `V${i}`,
    }));
    const d = decideSubgroupColumns({
      dicom: ['sex', 'ageBand', 'manufacturer', 'scannerModel'],
      requested: ['PatientName', 'MRN', 'insurance', 'visit', 'scannerSite'],
      allowList: ['Insurance', 'visit', 'PatientName'],
      cases,
    });
    expect(d.released).toEqual(['sex', 'ageBand', 'manufacturer', 'insurance']);
    expect(d.refused).toEqual([
      { column: 'scannerModel', reason: 'identifier-shape', source: 'dicom' },
      { column: 'PatientName', reason: 'identifier-shape', source: 'labels' },
      { column: 'MRN', reason: 'not-allow-listed', source: 'labels' },
      { column: 'visit', reason: 'level-density', source: 'labels' },
      { column: 'scannerSite', reason: 'not-allow-listed', source: 'labels' },
    ]);
    // A refusal names the column and the rule only.
    expect(JSON.stringify(d.refused)).not.toMatch(/DOE|MRN00|4711/);
  });
});
