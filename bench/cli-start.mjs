// bench:cli-start — how long a command takes to start: each command line below is run in a fresh process
// (`node bin/shadowscale ...`) --runs times, and the median and fastest wall times are reported. The lines
// do no work past start-up (help, a version, an input error), so the time is loading and parsing.
// With --baseline DIR (another checkout, built), its bin/shadowscale runs alternately with this one's, and
// the table has both and their ratio: the machine is shared, so only a side-by-side ratio means much.
// Usage: npm run bench:cli-start -- [--runs N] [--baseline DIR] [--out FILE]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { args, machine, table } from './lib.mjs';

const a = args();
const runs = Number(a.runs ?? 10);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a positive integer, got ${a.runs}`);
const out = a.out ?? 'bench/results/cli-start.md';
const builds = [{ name: 'this checkout', bin: resolve('bin/shadowscale') }];
if (a.baseline !== undefined) {
  const commit = execFileSync('git', ['-C', a.baseline, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  builds.unshift({ name: `baseline (commit ${commit})`, bin: resolve(a.baseline, 'bin/shadowscale') });
}

const LINES = [
  ['--version'],
  ['--help'],
  ['backtest', '--input', '/nonexistent.csv'],
  ['tune', '--input', '/nonexistent.csv'],
  ['forecast', '--input', '/nonexistent.csv'],
  ['config', 'validate'],
  ['status', '--api', 'http://127.0.0.1:9'],
];

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const times = new Map();
for (const line of LINES) {
  for (let r = 0; r < runs; r++) {
    for (const b of builds) {
      const t0 = performance.now();
      const p = spawnSync(process.execPath, [b.bin, ...line], { encoding: 'utf8' });
      const ms = performance.now() - t0;
      if (p.status === null || p.stderr.includes('SHADOWSCALE_E_INTERNAL')) throw new Error(`${b.name}: shadowscale ${line.join(' ')} ended with ${p.status ?? p.signal}: ${p.stderr}`);
      const key = `${b.name}\0${line.join(' ')}`;
      times.set(key, [...(times.get(key) ?? []), ms]);
    }
  }
  process.stderr.write(`${line.join(' ')} done\n`);
}

const cell = (b, line) => {
  const xs = times.get(`${b.name}\0${line.join(' ')}`);
  return { median: median(xs), min: Math.min(...xs) };
};
const head = ['command line', ...builds.map((b) => `${b.name}: median (fastest) ms`), ...(builds.length > 1 ? ['this / baseline (medians)'] : [])];
const rows = LINES.map((line) => {
  const cells = builds.map((b) => cell(b, line));
  return [`\`shadowscale ${line.join(' ')}\``, ...cells.map((c) => `${c.median.toFixed(0)} (${c.min.toFixed(0)})`), ...(cells.length > 1 ? [(cells[1].median / cells[0].median).toFixed(2)] : [])];
});
const bare = [];
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  spawnSync(process.execPath, ['-e', ''], { encoding: 'utf8' });
  bare.push(performance.now() - t0);
}
const md = `# bench:cli-start — how long a command takes to start

Command: \`npm run bench:cli-start -- --runs ${runs}${a.baseline !== undefined ? ` --baseline ${a.baseline}` : ''}\` (bench/cli-start.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

Each command line runs ${runs} times in a fresh process${builds.length > 1 ? ', the two builds alternately' : ''}; none does work past start-up (a version,
help, an input error, a validation of the defaults, an API that does not answer). A bare \`node -e ""\` takes
${median(bare).toFixed(0)} ms (median) here.

${table(head, rows)}
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
process.stdout.write(md);
