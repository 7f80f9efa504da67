/** `cairn agent …`: the hospital edge agent, one file per command group (each loads its libraries when run). */
import type { Command } from 'commander';
import { registerAgentDoctor } from './agent-doctor.ts';
import { registerAgentEnroll } from './agent-enroll.ts';
import { registerAgentRun } from './agent-run.ts';
import { registerAgentScore } from './agent-score.ts';
import { DEFAULT_STATE } from './agent-settings.ts';
import { registerAgentStatus } from './agent-status.ts';
import { registerAgentTrustCommands } from './agent-trust.ts';

export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description('the hospital edge agent');
  registerAgentTrustCommands(agent, DEFAULT_STATE);
  registerAgentEnroll(agent);
  registerAgentRun(agent);
  registerAgentDoctor(agent);
  registerAgentScore(agent);
  registerAgentStatus(agent);
}
