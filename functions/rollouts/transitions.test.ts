import { describe, expect, it } from 'vitest';
import { ROLLOUT_STATES } from '../../schemas/rollout.ts';
import { ROLLOUT_ACTIONS, transition } from './transitions.ts';

/** The legal moves, written out once more by hand: the table must agree with this list and allow nothing else. */
const LEGAL = new Map<string, string>([
  ['evaluating/recommend', 'recommended'],
  ['evaluating/not-recommend', 'not-recommended'],
  ['evaluating/withdraw', 'withdrawn'],
  ...['recommended', 'not-recommended'].flatMap((s): [string, string][] => [
    [`${s}/recommend`, 'recommended'],
    [`${s}/not-recommend`, 'not-recommended'],
    [`${s}/approve`, 'approved'],
    [`${s}/confirm-approval`, 'approved'],
    [`${s}/withdraw`, 'withdrawn'],
  ]),
  ['approved/deploy', 'deployed'],
  ['approved/suspend', 'suspended'],
  ['approved/withdraw', 'withdrawn'],
  ['approved/supersede', 'superseded'],
  ['approved/expire', 'review-due'],
  ['deployed/suspend', 'suspended'],
  ['deployed/withdraw', 'withdrawn'],
  ['deployed/supersede', 'superseded'],
  ['deployed/expire', 'review-due'],
  ['suspended/reinstate', 'deployed'],
  ['suspended/confirm-reinstatement', 'deployed'],
  ['suspended/withdraw', 'withdrawn'],
  ['suspended/supersede', 'superseded'],
  ['review-due/approve', 'approved'],
  ['review-due/confirm-approval', 'approved'],
  ['review-due/suspend', 'suspended'],
  ['review-due/withdraw', 'withdrawn'],
  ['review-due/supersede', 'superseded'],
  ['superseded/withdraw', 'withdrawn'],
]);

describe('rollout transitions', () => {
  it('walks every (state, action) pair: the legal ones lead where the list says, every other is refused with a code', () => {
    let refused = 0;
    for (const state of ROLLOUT_STATES)
      for (const action of ROLLOUT_ACTIONS) {
        const r = transition(state, action);
        const expected = LEGAL.get(`${state}/${action}`);
        if (expected) expect(r, `${state}/${action}`).toEqual({ ok: true, to: expected });
        else {
          refused++;
          expect(r.ok, `${state}/${action}`).toBe(false);
          if (!r.ok) {
            expect(r.code).toMatch(/^[a-z]+(-[a-z]+)*$/);
            expect(r.reason).toContain(state);
          }
        }
      }
    expect(refused).toBe(ROLLOUT_STATES.length * ROLLOUT_ACTIONS.length - LEGAL.size);
  });

  it('names why: a withdrawn rollout takes nothing, nothing is approved before a verdict, only a suspended one is reinstated', () => {
    const code = (s: Parameters<typeof transition>[0], a: Parameters<typeof transition>[1]) => {
      const r = transition(s, a);
      return r.ok ? 'ok' : r.code;
    };
    expect(code('withdrawn', 'suspend')).toBe('rollout-withdrawn');
    expect(code('superseded', 'deploy')).toBe('rollout-superseded');
    expect(code('evaluating', 'approve')).toBe('no-verdict-yet');
    expect(code('recommended', 'deploy')).toBe('not-approved');
    expect(code('deployed', 'reinstate')).toBe('not-suspended');
    expect(code('deployed', 'confirm-approval')).toBe('nothing-to-confirm');
    expect(code('approved', 'recommend')).toBe('already-decided');
    expect(code('recommended', 'suspend')).toBe('not-in-use');
    expect(code('suspended', 'expire')).toBe('no-approval-to-expire');
  });
});
