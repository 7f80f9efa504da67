/**
 * Semantic-version precedence (semver.org §11): major, minor and patch compared as numbers, a pre-release
 * below its release, pre-release fields compared numerically when both are numbers, else as ASCII text (a
 * number below text); build metadata ignored. Text order would put 1.10.0 before 1.9.0.
 */
export function compareSemver(a: string, b: string): number {
  const [coreA = '', preA] = splitVersion(a);
  const [coreB = '', preB] = splitVersion(b);
  const numsA = coreA.split('.').map(Number);
  const numsB = coreB.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (numsA[i] ?? 0) - (numsB[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (preA === undefined || preB === undefined) return preA === preB ? 0 : preA === undefined ? 1 : -1;
  const fieldsA = preA.split('.');
  const fieldsB = preB.split('.');
  for (let i = 0; i < Math.max(fieldsA.length, fieldsB.length); i++) {
    const x = fieldsA[i];
    const y = fieldsB[i];
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    const d = compareField(x, y);
    if (d !== 0) return d;
  }
  return 0;
}

function splitVersion(v: string): [string, string | undefined] {
  const noBuild = v.split('+', 1)[0] ?? '';
  const dash = noBuild.indexOf('-');
  return dash < 0 ? [noBuild, undefined] : [noBuild.slice(0, dash), noBuild.slice(dash + 1)];
}

function compareField(x: string, y: string): number {
  const numeric = /^\d+$/;
  if (numeric.test(x) && numeric.test(y)) return Math.sign(Number(x) - Number(y));
  if (numeric.test(x) !== numeric.test(y)) return numeric.test(x) ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

interface ModelIdentity {
  vendor: string;
  name: string;
  version: string;
}

/** Sorts models the way people expect: vendor, name, then version by precedence. */
export function byModelVersion<T>(identity: (t: T) => ModelIdentity): (a: T, b: T) => number {
  return (a, b) => {
    const x = identity(a);
    const y = identity(b);
    return (
      x.vendor.localeCompare(y.vendor) || x.name.localeCompare(y.name) || compareSemver(x.version, y.version)
    );
  };
}
