import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { AgentSettings } from '../config.ts';
import { enqueueReport } from '../outbox.ts';
import { buildSiteReport } from '../report/site-report.ts';
import { openAgentState } from '../state/store.ts';
import { privacyGate } from './gate.ts';
import { epsilonSpent, exceedsBudget, PrivacyBudgetExhausted } from './ledger.ts';

describe('the ε ledger check', () => {
  it('pays for exactly as many reports as the budget holds, despite floating-point sums', () => {
    let spent = 0;
    let released = 0;
    while (!exceedsBudget(spent, 0.1, 0.3)) {
      spent += 0.1;
      released++;
    }
    expect(released).toBe(3);
    expect(exceedsBudget(1, 1, 1)).toBe(true);
    expect(exceedsBudget(0, 1, 1)).toBe(false);
    expect(exceedsBudget(0.999, 0.002, 1)).toBe(true);
  });

  it('refuses settings whose ε per report the sampler cannot resolve', () => {
    const base = { dicom: '/x', labels: '/y.csv' };
    expect(
      AgentSettings.safeParse({ ...base, dp: { epsilonPerReport: 0.001, budgetPerCampaign: 1 } }).success,
    ).toBe(false);
    expect(
      AgentSettings.safeParse({ ...base, dp: { epsilonPerReport: 0.002, budgetPerCampaign: 1 } }).success,
    ).toBe(true);
  });

  it('re-checks the budget where it books a release, so a second process cannot overspend it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-ledger-'));
    const state = await openAgentState(dir);
    try {
      const dpReport = (n: number) =>
        privacyGate(
          buildSiteReport({
            reportId: `6f1c2a3e-1111-4222-8333-94445555666${n}`,
            campaignId: 'cmp_budget',
            jobId: `job_${n}`,
            siteId: 'site-a',
            model: { vendor: 'acme-ai', name: 'm', version: '1.0.0', sha256: 'a'.repeat(64) },
            agentVersion: '0.1.0',
            threshold: 0.5,
            binEdges: equalWidthEdges(4),
            outcomes: Array.from({ length: 40 }, (_, i) => ({
              score: (i % 10) / 10,
              label: (i % 2) as 0 | 1,
            })),
            excluded: {},
            images: { seen: 40, used: 40 },
          }),
          { minCell: 5, dp: { epsilon: 0.6 } },
        );
      // Both passed the check before inference; only one may be booked against a budget of 1.
      await enqueueReport(state.db, dpReport(1), { release: 'held' }, 1);
      await expect(enqueueReport(state.db, dpReport(2), { release: 'held' }, 1)).rejects.toBeInstanceOf(
        PrivacyBudgetExhausted,
      );
      expect(await epsilonSpent(state.db, 'cmp_budget')).toBeCloseTo(0.6, 12);
    } finally {
      state.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
