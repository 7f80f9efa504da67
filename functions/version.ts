// A static import: the bundler inlines the file, so a bundled function does not look for ../package.json at run
// time (in a Lambda package there is none, or the one SST writes for nodejs.install, without a version).
import pkg from '../package.json' with { type: 'json' };

export const CLOUD_VERSION: string = pkg.version;
