// Loading the configuration: YAML file < environment < CLI flags, validated once, then frozen.

import { readFileSync, statSync } from 'node:fs';
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

/** Largest configuration file read (a configuration is a few KiB; this bounds time and memory). */
export const MAX_CONFIG_BYTES = 1 << 20;
/** Largest index `--set` may name in a list (past the end by one appends). */
const MAX_SET_INDEX = 1000;

export function loadConfig(options: LoadOptions = {}): Readonly<Config> {
  const { raw, doc, lines } = options.file ? readYaml(options.file) : { raw: {}, doc: undefined, lines: undefined };
  const first = validate(raw, (path) => locate(options.file, doc, lines, path));
  const merged = structuredClone(first) as unknown as Record<string, unknown>;
  // Where each overridden path was set, so that a value the schema refuses is reported by its source.
  const sources: { path: readonly (string | number)[]; source: string }[] = [];
  for (const o of OVERRIDES) {
    const v = options.env?.[o.env];
    // A flag for the same setting wins: the environment's value is not even read.
    if (v === undefined || v === '' || options.flags?.[o.key] !== undefined) continue;
    const source = `environment variable ${o.env}`;
    applyOverride(merged, o, parseValue(v, o.kind, source), source, sources);
  }
  for (const o of OVERRIDES) {
    const v = options.flags?.[o.key];
    const source = `flag ${o.flag.split(' ')[0]}`;
    if (v !== undefined) applyOverride(merged, o, parseValue(v, o.kind, source), source, sources);
  }
  for (const s of options.sets ?? []) applySet(merged, s, sources);
  const final = validate(merged, (path) => {
    const set = [...sources].reverse().find((x) => x.path.length <= path.length && x.path.every((p, i) => p === path[i]));
    return set ? set.source : `override of ${formatPath(path)}`;
  });
  return deepFreeze(final);
}

function readYaml(file: string): { raw: unknown; doc: Document; lines: LineCounter } {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES) throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_READ', `${file}: the configuration file is ${size} bytes; at most ${MAX_CONFIG_BYTES} (1 MiB) is read`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ShadowscaleError) throw err;
    throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_READ', `${file}: cannot read the configuration file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const firstError = doc.errors[0];
  if (firstError) {
    const pos = firstError.linePos?.[0];
    throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_READ', `${file}:${pos ? `${pos.line}:${pos.col}` : '1'}: not valid YAML: ${firstError.message.split('\n')[0]}`);
  }
  let raw: unknown;
  try {
    // Aliases are expanded by reference counting: a "billion laughs" document fails here instead of
    // exhausting memory.
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_READ', `${file}: not accepted: ${(err as Error).message} (aliases expand to too much)`);
  }
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

function applyOverride(cfg: Record<string, unknown>, o: Override, value: unknown, source: string, sources: { path: readonly (string | number)[]; source: string }[]): void {
  if (o.scope === 'root') {
    setPath(cfg, o.path, value);
    sources.push({ path: o.path, source });
    return;
  }
  (cfg.services as Record<string, unknown>[]).forEach((t, i) => {
    setPath(t, o.path, value);
    sources.push({ path: ['services', i, ...o.path], source });
  });
}

/** Keys that would reach an object's prototype rather than a setting. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `--set services[0].slo.latencyP99Ms=150`: the value is read as YAML (numbers, booleans, lists). */
function applySet(cfg: Record<string, unknown>, assignment: string, sources: { path: readonly (string | number)[]; source: string }[]): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--set ${assignment}: expected PATH=VALUE, e.g. services[0].slo.latencyP99Ms=150`);
  const pathText = assignment.slice(0, eq);
  const path: (string | number)[] = [];
  for (const part of pathText.split('.')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--set ${assignment}: "${part}" is not a key or key[index]`);
    if (FORBIDDEN_KEYS.has(m[1] as string)) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--set ${assignment}: "${m[1]}" is not a configuration key`);
    path.push(m[1] as string);
    for (const idx of (m[2] ?? '').matchAll(/\[(\d+)\]/g)) path.push(Number(idx[1]));
  }
  // An index may name an entry or the one after the last (appending), never a far-away one.
  let cur: unknown = cfg;
  for (let i = 0; i < path.length; i++) {
    const k = path[i] as string | number;
    if (typeof k === 'number') {
      const len = Array.isArray(cur) ? cur.length : 0;
      if (k > len || k > MAX_SET_INDEX) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--set ${assignment}: index ${k} of ${formatPath(path.slice(0, i))}: expected at most ${Math.min(len, MAX_SET_INDEX)} (it has ${len} entr${len === 1 ? 'y' : 'ies'}; the next index appends)`);
    }
    cur = cur && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[k] : undefined;
  }
  const text = assignment.slice(eq + 1);
  const doc = parseDocument(text);
  let value: unknown = text;
  if (!doc.errors.length) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--set ${pathText}: the value is not accepted (${(err as Error).message})`);
    }
  }
  setPath(cfg, path, value);
  sources.push({ path, source: `--set ${pathText}` });
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
