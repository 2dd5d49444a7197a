// `shadowscale replay`: open-loop replay of recorded traffic.

import type { Command } from 'commander';
import { ShadowscaleError } from '../../core/errors.js';
import { loadRecording, replay } from '../../gateway/replay.js';
import { type Io, positiveNumber, urlList } from '../options.js';

export function registerReplay(program: Command, io: Io): void {
  program
    .command('replay')
    .description('open-loop replay of recorded traffic at N x speed or a target rate, with latency percentiles and errors')
    .requiredOption('--input <file>', 'JSON Lines recording ({at, method, route, requestBytes} per line, as `gateway --record` writes)')
    .requiredOption('--target <url>', 'base URL to send to', (v: string) => (urlList('--target')(v)[0] as string))
    .option('--speed <n>', 'time compression: 2 replays twice as fast (default 1)', positiveNumber('a positive number'))
    .option('--rate <rps>', 'scale the timing to this mean rate instead', positiveNumber('a positive number of requests/s'))
    .option('--duration <seconds>', 'stop after this long (the recording loops if shorter)', positiveNumber('a positive number of seconds'))
    .option('--service <name>', "replay this service's records (a `run` with several services records them all in gateway.mirror.recordFile, each naming its service)")
    .option('--json', 'print one JSON object')
    .action(async (opts: Record<string, unknown>) => {
      if (opts.speed !== undefined && opts.rate !== undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--speed and --rate: give one of them, not both');
      const rec = await loadRecording(opts.input as string, opts.service as string | undefined);
      const r = await replay(rec, { target: opts.target as string, speed: opts.speed as number | undefined, rate: opts.rate as number | undefined, durationSeconds: opts.duration as number | undefined, onProgress: opts.json ? undefined : (n) => io.stderrIsTty && io.err(`\rsent ${n}`) });
      if (opts.json) io.out(`${JSON.stringify(r)}\n`);
      else
        io.out(
          `sent ${r.sent} in ${r.durationSeconds.toFixed(1)} s (${r.achievedRate.toFixed(1)} req/s), ${r.errors} errors, ${r.skipped} skipped\n` +
            `latency ms: p50 ${r.latencyMs.p50.toFixed(2)}  p90 ${r.latencyMs.p90.toFixed(2)}  p99 ${r.latencyMs.p99.toFixed(2)}  p99.9 ${r.latencyMs.p999.toFixed(2)}  max ${r.latencyMs.max.toFixed(2)}\n`,
        );
    });
  
}
