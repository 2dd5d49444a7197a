import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { COMMANDS, commandModules } from './main.js';
import type { Io } from './options.js';

describe('commandModules: which command modules a command line loads', () => {
  const all = COMMANDS.length;
  const cases: [string[], number][] = [
    [['backtest', '--input', 'x.csv'], 1],
    [['forecast-eval'], 1],
    [['decisions', '--json'], 1],
    [['config', 'schema'], 1],
    [['--version'], 0],
    [['-V'], 0],
    [['--help'], all],
    [['help', 'backtest'], all],
    [['bakctest'], all],
    [[], all],
  ];
  for (const [argv, want] of cases) it(`${JSON.stringify(argv)} -> ${want}`, () => assert.equal(commandModules(argv).length, want));
});

describe('COMMANDS names exactly the commands each module registers', () => {
  const io: Io = { out: () => undefined, err: () => undefined, env: {}, stderrIsTty: false };
  for (const [names, load] of COMMANDS) {
    it(names.join(', '), async () => {
      const program = new Command('shadowscale');
      (await load())(program, io);
      assert.deepEqual(program.commands.map((c) => c.name()), [...names]);
    });
  }
});
