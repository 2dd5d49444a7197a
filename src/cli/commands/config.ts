// `shadowscale config validate|schema`.

import type { Command } from 'commander';
import { configJsonSchema } from '../../config/load.js';
import { type Io, addConfigOptions, configFrom } from '../options.js';

export function registerConfig(program: Command, io: Io): void {
  const config = program.command('config').description('inspect the configuration');
  addConfigOptions(config.command('validate').description('validate the configuration and print it with all defaults filled in')).action((opts: Record<string, unknown>) => {
    const { cfg } = configFrom(opts, io);
    io.out(`${JSON.stringify(cfg, null, 2)}\n`);
  });
  config
    .command('schema')
    .description('print the JSON Schema of the configuration file (for editors)')
    .action(() => {
      io.out(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });
}
