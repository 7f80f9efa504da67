import { eq, sum } from 'drizzle-orm';
import { privacyLedger } from '../state/schema.ts';
import type { AgentDb } from '../state/store.ts';

/**
 * The site's ε ledger (table privacy_ledger): what each campaign has spent on differentially private releases.
 * Checked before inference (so an unaffordable release is never computed) and again inside the transaction
 * that books a report (so two agent processes cannot both spend the last of a budget).
 */

/**
 * Whether spending `epsilon` more would take a campaign past its budget. The ledger sums floating-point ε, so
 * three reports at 0.1 add up to 0.30000000000000004: a tolerance far below any ε the sampler can represent
 * (0.001) keeps such a sum from being refused at a budget of 0.3.
 */
export function exceedsBudget(spent: number, epsilon: number, budget: number): boolean {
  return spent + epsilon > budget + 1e-9;
}

export async function epsilonSpent(db: Pick<AgentDb, 'select'>, campaignId: string): Promise<number> {
  const row = await db
    .select({ spent: sum(privacyLedger.epsilon) })
    .from(privacyLedger)
    .where(eq(privacyLedger.campaignId, campaignId))
    .get();
  return Number(row?.spent ?? 0);
}

/** Thrown when booking a release would take its campaign past the site's ε budget. */
export class PrivacyBudgetExhausted extends Error {
  override name = 'PrivacyBudgetExhausted';
}
