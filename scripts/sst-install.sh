#!/usr/bin/env bash
# `sst install` without GitHub: writes .sst/platform (SST's component sources, @pulumi/aws and the
# config.d.ts that sst.config.ts references), which `npm run typecheck:sst` and test/deploy.sst.test.ts need.
# A plain `npx sst install` downloads Pulumi and Bun from GitHub first; here Bun comes from the `bun` npm
# package (a devDependency) and the dependency check is skipped (Pulumi is only needed to deploy or diff).
# The provider packages are installed from the npm registry. Needs no AWS credentials.
set -euo pipefail
cd "$(dirname "$0")/.."

bun="${SST_BUN_PATH:-$PWD/node_modules/bun/bin/bun.exe}"
if [ ! -x "$bun" ]; then
  echo "sst-install: no bun binary at $bun (run npm ci first)" >&2
  exit 1
fi

export SST_BUN_PATH="$bun"
export SST_SKIP_DEPENDENCY_CHECK=true
export SST_STAGE="${SST_STAGE:-ci}"
export SST_TELEMETRY_DISABLED=1
export AWS_EC2_METADATA_DISABLED=true

node_modules/.bin/sst install
test -f .sst/platform/config.d.ts
