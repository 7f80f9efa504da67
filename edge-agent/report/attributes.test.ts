import { describe, expect, it } from 'vitest';
import { ageInYears } from '../dicom/parse.ts';
import { ageBand, ageBandOfYears, dicomAgeStringYears, normaliseSex, parseAgeYears } from './attributes.ts';

describe('DICOM Age String (PS3.5 AS: nnnD, nnnW, nnnM, nnnY)', () => {
  it('a week is 7 days: n weeks and 7n days are the same age, one year length for both', () => {
    expect(dicomAgeStringYears('001W')).toBe(dicomAgeStringYears('007D'));
    expect(dicomAgeStringYears('052W')).toBe(364 / 365.25);
    expect(dicomAgeStringYears('365D')).toBe(365 / 365.25);
    expect(dicomAgeStringYears('018M')).toBe(1.5);
    expect(dicomAgeStringYears('045Y')).toBe(45);
  });

  it('reads unpadded and lower-case forms; anything else is not an age string', () => {
    expect(dicomAgeStringYears(' 45y ')).toBe(45);
    for (const bad of ['45', '0045Y', '-01Y', '045X', 'Y', '']) expect(dicomAgeStringYears(bad)).toBeNull();
  });

  it('the parser (completed years) and the report (bands) read one age the same way', () => {
    for (const as of ['939W', '940W', '365D', '366D', '215M', '216M', '017Y', '018Y']) {
      const years = ageInYears(as);
      expect(years).toBe(Math.floor(dicomAgeStringYears(as)!));
      expect(ageBand(as)).toBe(ageBandOfYears(years));
    }
    expect(ageBand('939W')).toBe('0-17');
    expect(ageBand('940W')).toBe('18-39');
  });

  it('a label file may also give a plain number of years; negative or absurd ages are unreadable', () => {
    expect(parseAgeYears('63.5')).toBe(63.5);
    expect(parseAgeYears('-3')).toBeNull();
    expect(parseAgeYears('250')).toBeNull();
    expect(ageBand('250')).toBe('unknown');
  });
});

describe('sex (0010,0040)', () => {
  it('M, F and O in either case or spelled out; anything else unknown', () => {
    expect(['m', 'Female', 'O', 'X', ''].map(normaliseSex)).toEqual(['M', 'F', 'O', 'unknown', 'unknown']);
  });
});
