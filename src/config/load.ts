// Loading the configuration: YAML file < environment < CLI flags, validated once, then frozen.

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { ShadowscaleError, describeValue } from '../core/errors.js';
import { configSchema, STRATEGIES, type Config } from './schema.js';

/** A config value that can also be set from the environment and the command line. */
export interface Override {
  readonly key: string;
  /** Commander flag spelling. */
  readonly flag: string;
  readonly env: string;
  /** Path inside each service (scope "service") or inside the root (scope "root"). */
  readonly path: readonly string[];
  readonly scope: 'service' | 'root';
  readonly kind: 'number' | 'integer' | 'string';
  readonly description: string;
}

/**
 * Every overridable setting, with its flag and environment variable. Keys without a dedicated flag
 * are reached with `--set PATH=VALUE` (e.g. `--set services[0].slo.errorRate=0.01`).
 */
export const OVERRIDES: readonly Override[] = [
  { key: 'scalingStrategy', flag: '--scaling-strategy <name>', env: 'SHADOWSCALE_STRATEGY', path: ['scaling', 'strategy'], scope: 'service', kind: 'string', description: `Live scaling strategy (${STRATEGIES.join(', ')})` },
  { key: 'sloP99Ms', flag: '--slo-p99-ms <ms>', env: 'SHADOWSCALE_SLO_P99_MS', path: ['slo', 'latencyP99Ms'], scope: 'service', kind: 'number', description: 'p99 latency objective in ms' },
  { key: 'sloErrorRate', flag: '--slo-error-rate <fraction>', env: 'SHADOWSCALE_SLO_ERROR_RATE', path: ['slo', 'errorRate'], scope: 'service', kind: 'number', description: 'Highest acceptable error rate' },
  { key: 'headroom', flag: '--headroom <fraction>', env: 'SHADOWSCALE_HEADROOM', path: ['scaling', 'headroom'], scope: 'service', kind: 'number', description: 'Extra capacity above the forecast upper bound' },
  { key: 'leadTime', flag: '--lead-time <seconds>', env: 'SHADOWSCALE_LEAD_TIME_SECONDS', path: ['scaling', 'leadTimeSeconds'], scope: 'service', kind: 'number', description: 'How far ahead capacity is added' },
  { key: 'targetUtilization', flag: '--target-utilization <fraction>', env: 'SHADOWSCALE_TARGET_UTILIZATION', path: ['scaling', 'reactive', 'targetUtilization'], scope: 'service', kind: 'number', description: 'Reactive target utilization' },
  { key: 'minInstances', flag: '--min-instances <n>', env: 'SHADOWSCALE_MIN_INSTANCES', path: ['pool', 'min'], scope: 'service', kind: 'integer', description: 'Pool minimum' },
  { key: 'maxInstances', flag: '--max-instances <n>', env: 'SHADOWSCALE_MAX_INSTANCES', path: ['pool', 'max'], scope: 'service', kind: 'integer', description: 'Pool maximum' },
  { key: 'seed', flag: '--seed <n>', env: 'SHADOWSCALE_SEED', path: ['simulation', 'seed'], scope: 'root', kind: 'integer', description: 'Seed of the simulation randomness' },
  { key: 'noise', flag: '--noise <kind>', env: 'SHADOWSCALE_NOISE', path: ['simulation', 'noise'], scope: 'root', kind: 'string', description: 'Arrival noise: poisson or none' },
];

export interface LoadOptions {
  /** YAML file; absent means all defaults. */
  readonly file?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** CLI values by override key (strings as typed). */
  readonly flags?: Readonly<Record<string, string | undefined>>;
  /** `--set PATH=VALUE` assignments, applied last. */
  readonly sets?: readonly string[];
}

export function loadConfig(options: LoadOptions = {}): Readonly<Config> {
  const { raw, doc, lines } = options.file ? readYaml(options.file) : { raw: {}, doc: undefined, lines: undefined };
  const first = validate(raw, (path) => locate(options.file, doc, lines, path));
  const merged = structuredClone(first) as unknown as Record<string, unknown>;
  for (const o of OVERRIDES) {
    const v = options.env?.[o.env];
    if (v !== undefined && v !== '') applyOverride(merged, o, parseValue(v, o.kind, `environment variable ${o.env}`));
  }
  for (const o of OVERRIDES) {
    const v = options.flags?.[o.key];
    if (v !== undefined) applyOverride(merged, o, parseValue(v, o.kind, `flag ${o.flag.split(' ')[0]}`));
  }
  for (const s of options.sets ?? []) applySet(merged, s);
  const final = validate(merged, (path) => `override of ${formatPath(path)}`);
  return deepFreeze(final);
}

function readYaml(file: string): { raw: unknown; doc: Document; lines: LineCounter } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_READ', `${file}: cannot read the configuration file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const firstError = doc.errors[0];
  if (firstError) {
    const pos = firstError.linePos?.[0];
    throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_READ', `${file}:${pos ? `${pos.line}:${pos.col}` : '1'}: not valid YAML: ${firstError.message.split('\n')[0]}`);
  }
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_INVALID', `${file}:1: expected a mapping at the top level (version, instanceTypes, services, simulation), got ${describeValue(raw)}`);
  }
  return { raw, doc, lines };
}

function locate(file: string | undefined, doc: Document | undefined, lines: LineCounter | undefined, path: readonly PropertyKey[]): string {
  if (!file) return 'defaults';
  if (!doc || !lines) return file;
  // Walk up the path until a node exists (a missing key is reported at its parent).
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return `${file}:${lines.linePos(node.range[0]).line}`;
  }
  return file;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(root)';
}

function validate(raw: unknown, where: (path: readonly PropertyKey[]) => string): Config {
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  const messages = result.error.issues.slice(0, 10).map((iss) => {
    const path = iss.path;
    if (iss.code === 'unrecognized_keys') {
      const keys = iss.keys;
      const full = [...path, keys[0] ?? ''];
      return `${where(full)}: ${formatPath(full)}: unknown key${keys.length > 1 ? `s ${keys.map((k) => `"${k}"`).join(', ')}` : ''} (not part of the schema; check the spelling)`;
    }
    return `${where(path)}: ${formatPath(path)}: ${iss.message}`;
  });
  const more = result.error.issues.length > 10 ? `\n(and ${result.error.issues.length - 10} more)` : '';
  throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_INVALID', `invalid configuration:\n  ${messages.join('\n  ')}${more}`);
}

function parseValue(text: string, kind: Override['kind'], source: string): unknown {
  if (kind === 'string') return text;
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n) || (kind === 'integer' && !Number.isInteger(n))) {
    throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `${source}: expected ${kind === 'integer' ? 'an integer' : 'a number'}, got ${describeValue(text)}`);
  }
  return n;
}

function applyOverride(cfg: Record<string, unknown>, o: Override, value: unknown): void {
  const targets = o.scope === 'root' ? [cfg] : (cfg.services as Record<string, unknown>[]);
  for (const t of targets) setPath(t, o.path, value);
}

/** `--set services[0].slo.latencyP99Ms=150`: the value is read as YAML (numbers, booleans, lists). */
function applySet(cfg: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--set ${assignment}: expected PATH=VALUE, e.g. services[0].slo.latencyP99Ms=150`);
  const pathText = assignment.slice(0, eq);
  const path: (string | number)[] = [];
  for (const part of pathText.split('.')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--set ${assignment}: "${part}" is not a key or key[index]`);
    path.push(m[1] as string);
    for (const idx of (m[2] ?? '').matchAll(/\[(\d+)\]/g)) path.push(Number(idx[1]));
  }
  const doc = parseDocument(assignment.slice(eq + 1));
  setPath(cfg, path, doc.errors.length ? assignment.slice(eq + 1) : doc.toJS());
}

function setPath(obj: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let cur: Record<string | number, unknown> = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i] as string | number;
    let next = cur[k];
    if (next === undefined || next === null || typeof next !== 'object') {
      next = typeof path[i + 1] === 'number' ? [] : {};
      cur[k] = next;
    }
    cur = next as Record<string | number, unknown>;
  }
  cur[path[path.length - 1] as string | number] = value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The JSON Schema of the configuration file, for editors. */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}

export function serviceByName(cfg: Config, name: string | undefined): Config['services'][number] {
  if (name === undefined) return cfg.services[0] as Config['services'][number];
  const s = cfg.services.find((x) => x.name === name);
  if (!s) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--service ${name}: no such service in the configuration (have: ${cfg.services.map((x) => x.name).join(', ')})`);
  return s;
}
