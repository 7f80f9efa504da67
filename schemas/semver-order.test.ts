import { describe, expect, it } from 'vitest';
import { compareSemver } from './semver-order.ts';

describe('semver precedence', () => {
  it('orders the semver.org example chain, and numbers as numbers (1.9.0 < 1.10.0)', () => {
    const ordered = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.2.0',
      '1.9.0',
      '1.10.0',
      '2.0.0',
      '10.0.0',
    ];
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort(compareSemver)).toEqual(ordered);
    expect(compareSemver('1.0.0+build.1', '1.0.0+build.2')).toBe(0);
  });
});
