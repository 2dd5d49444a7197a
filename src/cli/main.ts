// The `shadowscale` command. With --json, stdout holds only the JSON; progress and logs go to stderr.
// Exit codes: 0 success, 2 bad usage or bad input, 1 internal failure, 3 a rollout that did not complete.

import { Command, CommanderError } from 'commander';
import { isShadowscaleError, ShadowscaleError } from '../core/errors.js';
import { type Io, defaultIo } from './options.js';
import { registerBacktest } from './commands/backtest.js';
import { registerTune } from './commands/tune.js';
import { registerForecast } from './commands/forecast.js';
import { registerGateway } from './commands/gateway.js';
import { registerRun } from './commands/run.js';
import { registerDemo } from './commands/demo.js';
import { registerProve } from './commands/prove.js';
import { registerDoctor } from './commands/doctor.js';
import { registerProofs } from './commands/proofs.js';
import { registerReplay } from './commands/replay.js';
import { registerConfig } from './commands/config.js';
import { registerStatus } from './commands/status.js';
import { registerRollout } from './commands/rollout.js';
import { registerEvents } from './commands/events.js';

export type { Io } from './options.js';
export { renderBacktest, renderSweep, renderTune } from './render.js';

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const program = new Command('shadowscale')
    .description('Predictive autoscaling, proven on a shadow copy of the service first.')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  // An empty value is never meant: `--config ''` (an unset variable in a script) had run on the defaults,
  // `--store ''` had checked the working directory, and `--input ''` said ": cannot read the trace".
  program.hook('preAction', (_program, action) => {
    for (const o of action.options) {
      const key = o.attributeName();
      const v: unknown = action.getOptionValue(key);
      if (action.getOptionValueSource(key) !== 'cli' || !(v === '' || (Array.isArray(v) && v.includes('')))) continue;
      const what = /<[^>]+>/.exec(o.flags)?.[0] ?? 'a value';
      throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `${o.long ?? o.flags}: expected ${what}, got an empty string`);
    }
  });

  registerBacktest(program, io);
  registerTune(program, io);
  registerForecast(program, io);
  registerGateway(program, io);
  registerRun(program, io);
  registerDemo(program, io);
  registerProve(program, io);
  registerDoctor(program, io);
  registerProofs(program, io);
  registerReplay(program, io);
  registerStatus(program, io);
  registerRollout(program, io);
  registerEvents(program, io);
  registerConfig(program, io);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help shown because no command was given is an error (commander says so with a non-zero exit code).
      if (err.code === 'commander.help' && err.exitCode !== 0) return 2;
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    if (isShadowscaleError(err)) {
      io.err(`shadowscale: ${err.message} [${err.code}]\n`);
      return err.exitCode;
    }
    io.err(`shadowscale: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)} [SHADOWSCALE_E_INTERNAL]\n`);
    return 1;
  }
}

