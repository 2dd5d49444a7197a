// The `shadowscale` command. With --json, stdout holds only the JSON; progress and logs go to stderr.
// Exit codes: 0 success, 2 bad usage or bad input, 1 internal failure, 3 a rollout that did not complete.

import { Command, CommanderError } from 'commander';
import { isShadowscaleError, ShadowscaleError } from '../core/errors.js';
import { type Io, defaultIo } from './options.js';

export type { Io } from './options.js';
export { renderBacktest, renderSweep, renderTune } from './render.js';

type Register = (program: Command, io: Io) => void;

// Each command's module with the commands it registers, in the order `--help` lists them. Only the module of
// the command asked for is loaded: the others bring the runtime, the API and its server, the Kubernetes and
// forecasting libraries, about 0.3 s of every start (docs/design/hardening.md). `--help`, `help` and a name
// that is no command load them all, `--version` none.
export const COMMANDS: ReadonlyArray<readonly [readonly string[], () => Promise<Register>]> = [
  [['backtest'], async () => (await import('./commands/backtest.js')).registerBacktest],
  [['tune'], async () => (await import('./commands/tune.js')).registerTune],
  [['forecast', 'forecast-eval'], async () => (await import('./commands/forecast.js')).registerForecast],
  [['gateway'], async () => (await import('./commands/gateway.js')).registerGateway],
  [['run'], async () => (await import('./commands/run.js')).registerRun],
  [['demo'], async () => (await import('./commands/demo.js')).registerDemo],
  [['prove'], async () => (await import('./commands/prove.js')).registerProve],
  [['doctor'], async () => (await import('./commands/doctor.js')).registerDoctor],
  [['proofs'], async () => (await import('./commands/proofs.js')).registerProofs],
  [['replay'], async () => (await import('./commands/replay.js')).registerReplay],
  [['status', 'decisions'], async () => (await import('./commands/status.js')).registerStatus],
  [['rollout'], async () => (await import('./commands/rollout.js')).registerRollout],
  [['events'], async () => (await import('./commands/events.js')).registerEvents],
  [['config'], async () => (await import('./commands/config.js')).registerConfig],
];

/** The modules to load for a command line: the one naming its first word, none for --version, else all. */
export function commandModules(argv: readonly string[]): ReadonlyArray<() => Promise<Register>> {
  const first = argv[0];
  if (first === '--version' || first === '-V') return [];
  const named = COMMANDS.find(([names]) => first !== undefined && names.includes(first));
  return named ? [named[1]] : COMMANDS.map(([, load]) => load);
}

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

  for (const register of await Promise.all(commandModules(argv).map((load) => load()))) register(program, io);

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

