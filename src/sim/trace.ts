// Streaming CSV trace loader (DESIGN "Trace files"): the time column is found by name, its format
// detected from the first row and then required on every row; values go into typed arrays so that
// millions of rows stay small in memory. Gaps are reported, never filled.

import { createReadStream } from 'node:fs';
import { ShadowscaleError, describeValue } from '../core/errors.js';

export const TIME_COLUMN_NAMES = ['timestamp', 'time', 'period', 'date'] as const;

export type TimeFormat = 'iso8601' | 'datetime' | 'epoch-seconds' | 'epoch-milliseconds' | 'relative-seconds' | 'step';

export interface Gap {
  /** Line (1-based, header = 1) of the last row before the gap; 0 for rows from no file (the store). */
  readonly afterLine: number;
  /** Time of that row and of the next row (seconds). */
  readonly from: number;
  readonly to: number;
  /** Points that a regular series would have had in between. */
  readonly missingPoints: number;
}

export const DUPLICATE_POLICIES = ['error', 'mean', 'sum', 'first', 'last'] as const;
export type DuplicatePolicy = (typeof DUPLICATE_POLICIES)[number];

export interface Trace {
  readonly file: string;
  readonly column: string;
  readonly timeColumn: string | undefined;
  readonly timeFormat: TimeFormat;
  /** Spacing in seconds: --step, or the most common spacing between rows. */
  readonly step: number;
  /** Seconds: epoch for absolute formats, from the first row otherwise. */
  readonly times: Float64Array;
  readonly values: Float64Array;
  readonly gaps: readonly Gap[];
  /** Rows merged into the row before them because they had the same time (--duplicates). */
  readonly duplicatesMerged: number;
  readonly stats: { readonly rows: number; readonly min: number; readonly max: number; readonly mean: number };
}

export interface TraceOptions {
  readonly column?: string;
  readonly step?: number;
  /** What to do with rows that repeat the previous row's time: reject (default) or merge them. */
  readonly duplicates?: DuplicatePolicy;
}

/** Times are absolute (epoch) for these formats: the forecaster can use calendar seasonality. */
export function isAbsoluteTime(format: TimeFormat): boolean {
  return format === 'iso8601' || format === 'datetime' || format === 'epoch-seconds' || format === 'epoch-milliseconds';
}

class Growable {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  trimmed(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

/** Longest line read (a row is a time and a few numbers; this bounds memory and time). */
export const MAX_LINE_CHARS = 64 * 1024;
/** Most rows read (as toSeries' grid: 50 million points, 400 MB per column of times or values). */
export const MAX_ROWS = 50_000_000;

/** Input echoed in a message: at most `max` characters, control characters escaped. */
function clip(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const safe = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > max ? `${safe.slice(0, max - 3)}...` : safe;
}

/**
 * A first line that is not text: a NUL, a gzip header, or mostly bytes that are not UTF-8. A header in
 * another encoding (Latin-1 "é") keeps its few replacement characters and is read as before.
 */
function looksBinary(text: string): boolean {
  if (text.includes('\u0000') || text.startsWith('\u001f\ufffd')) return true;
  let bad = 0;
  for (const c of text) if (c === '\ufffd' || (c < ' ' && c !== '\t')) bad++;
  return bad > 4 && bad > text.length / 10;
}

export async function loadTrace(file: string, options: TraceOptions = {}): Promise<Trace> {
  if (options.step !== undefined && !(options.step > 0 && Number.isFinite(options.step))) {
    throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--step: expected a positive number of seconds, got ${describeValue(options.step)}`);
  }
  const parser = new TraceParser(file, options);
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  // The unfinished line's pieces: joined once when its newline arrives (appending each chunk to one
  // string made a long line quadratic), and never more than MAX_LINE_CHARS.
  let pieces: string[] = [];
  let pending = 0;
  const tooLong = (): never => parser.fail(`the line is longer than ${MAX_LINE_CHARS} characters; expected CSV rows of a time and a few values (is this a trace?)`, parser.nextLine);
  try {
    for await (const chunk of stream) {
      const text = chunk as string;
      let start = 0;
      for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
        if (pending + nl - start > MAX_LINE_CHARS) tooLong();
        if (pieces.length) {
          pieces.push(text.slice(start, nl));
          parser.line(pieces.join(''));
          pieces = [];
          pending = 0;
        } else parser.line(text.slice(start, nl));
        start = nl + 1;
      }
      if (start < text.length) {
        pending += text.length - start;
        if (pending > MAX_LINE_CHARS) tooLong();
        pieces.push(text.slice(start));
      }
    }
  } catch (err) {
    if (err instanceof ShadowscaleError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ShadowscaleError('SHADOWSCALE_E_TRACE_READ', `${file}: cannot read the trace (${code ?? String(err)})`);
  } finally {
    stream.destroy();
  }
  if (pieces.length) parser.line(pieces.join(''));
  return parser.finish();
}

class TraceParser {
  private lineNo = 0;
  private header: string[] | undefined;
  private timeIdx = -1;
  private valueIdx = -1;
  private format: TimeFormat = 'step';
  private readonly times = new Growable();
  private readonly values = new Growable();
  private readonly lines = new Growable();
  private firstTime = Number.NaN;
  private merged = 0;
  /** Rows merged into the last kept row so far (for the running mean). */
  private runLength = 1;

  constructor(
    private readonly file: string,
    private readonly options: TraceOptions,
  ) {}

  /** The number of the line being read next. */
  get nextLine(): number {
    return this.lineNo + 1;
  }

  fail(message: string, line = this.lineNo): never {
    throw new ShadowscaleError('SHADOWSCALE_E_TRACE_FORMAT', `${this.file}:${line}: ${message}`);
  }

  line(raw: string): void {
    this.lineNo++;
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (this.lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') return;
    if (!this.header && looksBinary(text)) {
      // A compressed or binary file: its header had been echoed as mojibake in "no time column".
      this.fail(`not a text CSV: the first line has bytes that are not UTF-8 text${text.startsWith('\u001f\ufffd') ? ' (gzip-compressed? decompress it first)' : ' (a binary or compressed file?)'}; expected a header such as timestamp,value`);
    }
    const fields = splitCsv(text);
    if (!this.header) {
      this.setHeader(fields);
      return;
    }
    if (fields.length !== this.header.length) {
      const unclosed = (text.split('"').length - 1) % 2 === 1;
      if (unclosed) this.fail('a quoted field is not closed on its line (a newline inside quotes?); expected one row per line');
      this.fail(`expected ${this.header.length} fields as in the header (${clip(this.header.join(','))}), got ${fields.length}`);
    }
    const valueText = (fields[this.valueIdx] as string).trim();
    const value = valueText === '' ? Number.NaN : Number(valueText);
    if (!Number.isFinite(value)) this.fail(`column "${this.header[this.valueIdx]}": expected a number, got ${describeValue(valueText)}`);
    let t: number;
    if (this.timeIdx < 0) {
      t = this.values.length * (this.options.step as number);
    } else {
      const timeText = (fields[this.timeIdx] as string).trim();
      t = this.parseTime(timeText);
      const n = this.times.length;
      if (n > 0) {
        const prev = this.times.data[n - 1] as number;
        const prevLine = this.lines.data[n - 1] as number;
        if (t === prev) {
          this.mergeDuplicate(value, timeText, prevLine);
          return;
        }
        if (t < prev) this.fail(`time ${describeValue(timeText)} goes backwards (line ${prevLine} is later); expected rows in increasing time order`);
      }
    }
    if (this.values.length >= MAX_ROWS) this.fail(`more than ${MAX_ROWS} rows; a longer trace does not fit the simulator (split it, or aggregate it to a coarser step)`);
    this.times.push(t);
    this.values.push(value);
    this.lines.push(this.lineNo);
    this.runLength = 1;
  }

  private mergeDuplicate(value: number, timeText: string, prevLine: number): void {
    const policy = this.options.duplicates ?? 'error';
    if (policy === 'error') {
      this.fail(`duplicate time ${describeValue(timeText)} (same as line ${prevLine}); expected one row per time, or pass --duplicates mean|sum|first|last to merge such rows`);
    }
    const last = this.values.length - 1;
    const cur = this.values.data[last] as number;
    this.runLength++;
    this.merged++;
    if (policy === 'mean') this.values.data[last] = cur + (value - cur) / this.runLength;
    else if (policy === 'sum') this.values.data[last] = cur + value;
    else if (policy === 'last') this.values.data[last] = value;
  }

  private setHeader(fields: string[]): void {
    const names = fields.map((f) => f.trim());
    // A spreadsheet's export in a locale with decimal commas separates by semicolons (or tabs): one column
    // here, which had been named as a header without a time column.
    const other = names.length === 1 ? [';', '\t', '|'].find((sep) => (names[0] as string).includes(sep)) : undefined;
    if (other !== undefined) this.fail(`the header (${clip(names[0] as string)}) is one column, its names separated by ${other === '\t' ? 'tabs' : `"${other}"`}; expected a CSV separated by commas (e.g. timestamp,value)`);
    this.header = names;
    const lower = names.map((n) => n.toLowerCase());
    this.timeIdx = lower.findIndex((n) => (TIME_COLUMN_NAMES as readonly string[]).includes(n));
    if (this.options.column !== undefined) {
      this.valueIdx = names.indexOf(this.options.column);
      if (this.valueIdx < 0) this.fail(`no column ${describeValue(this.options.column)}; the columns are: ${clip(names.join(', '))}`);
      // Two columns of one name: which one was meant cannot be told (the first was read, silently).
      const again = names.indexOf(this.options.column, this.valueIdx + 1);
      if (again >= 0) this.fail(`column ${describeValue(this.options.column)} appears twice in the header (columns ${this.valueIdx + 1} and ${again + 1}); rename one`);
      if (this.valueIdx === this.timeIdx) this.fail(`column ${describeValue(this.options.column)} is the time column; pick a value column (${clip(names.filter((_, i) => i !== this.timeIdx).join(', '))})`);
    } else {
      this.valueIdx = names.findIndex((_, i) => i !== this.timeIdx);
      if (this.valueIdx < 0) this.fail(`no value column: the header has only the time column ${describeValue(names[this.timeIdx])}`);
    }
    if (this.timeIdx < 0 && this.options.step === undefined) {
      this.fail(`no time column (one named ${TIME_COLUMN_NAMES.join(', ')}) in the header (${clip(names.join(','))}); pass --step SECONDS to give the spacing`);
    }
    if (this.timeIdx >= 0 && this.options.step !== undefined) {
      this.fail(`--step ${this.options.step}: the trace has a time column ${describeValue(names[this.timeIdx])}, which gives the spacing; --step is for traces without one`);
    }
  }

  private parseTime(text: string): number {
    if (this.times.length === 0) this.format = detectTimeFormat(text);
    const t = parseTimeAs(text, this.format);
    if (Number.isNaN(t)) {
      this.fail(`column "${this.header?.[this.timeIdx]}": expected a ${FORMAT_NAMES[this.format]} time like the first row's, got ${describeValue(text)}`);
    }
    if (this.format === 'relative-seconds') {
      if (Number.isNaN(this.firstTime)) this.firstTime = t;
      return t - this.firstTime;
    }
    return t;
  }

  finish(): Trace {
    if (!this.header) throw new ShadowscaleError('SHADOWSCALE_E_TRACE_FORMAT', `${this.file}:1: empty file; expected a CSV header and data rows`);
    const n = this.values.length;
    if (n === 0) this.fail('no data rows after the header', this.lineNo);
    const times = this.times.trimmed();
    const lines = this.lines.data;
    return {
      ...traceFrom({ file: this.file, column: this.header[this.valueIdx] as string, times, values: this.values.trimmed(), step: this.options.step ?? modalSpacing(times), lineOf: (i) => lines[i] as number }),
      timeColumn: this.timeIdx >= 0 ? this.header[this.timeIdx] : undefined,
      timeFormat: this.timeIdx >= 0 ? this.format : 'step',
      duplicatesMerged: this.merged,
    };
  }
}

/**
 * A trace from rows already in memory (times in seconds, increasing; at least one row): its gaps (spacings
 * over 1.5 steps) and stats, as the CSV loader finds them. `lineOf(i)` is row i's line in its file; rows
 * that come from no file (the store's history) have line 0.
 */
export function traceFrom(r: { file: string; column: string; times: Float64Array; values: Float64Array; step: number; lineOf?: (i: number) => number }): Trace {
  const { times, values, step } = r;
  const n = values.length;
  const gaps: Gap[] = [];
  for (let i = 1; i < n; i++) {
    const d = (times[i] as number) - (times[i - 1] as number);
    if (d > 1.5 * step) gaps.push({ afterLine: r.lineOf?.(i - 1) ?? 0, from: times[i - 1] as number, to: times[i] as number, missingPoints: Math.round(d / step) - 1 });
  }
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { file: r.file, column: r.column, timeColumn: undefined, timeFormat: 'epoch-seconds', step, times, values, gaps, duplicatesMerged: 0, stats: { rows: n, min, max, mean: sum / n } };
}

const FORMAT_NAMES: Record<TimeFormat, string> = {
  iso8601: 'ISO 8601',
  datetime: 'YYYY-MM-DD HH:MM:SS',
  'epoch-seconds': 'epoch-seconds',
  'epoch-milliseconds': 'epoch-milliseconds',
  'relative-seconds': 'seconds-from-start',
  step: 'step',
};

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:([T ])(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function detectTimeFormat(text: string): TimeFormat {
  const m = DATE_TIME.exec(text);
  if (m) return m[4] === ' ' ? 'datetime' : 'iso8601';
  if (NUMBER.test(text)) {
    const v = Number(text);
    if (v >= 1e11) return 'epoch-milliseconds';
    if (v >= 1e8) return 'epoch-seconds';
    return 'relative-seconds';
  }
  return 'iso8601';
}

/** Seconds for `text` in the given format; NaN when it does not match. Zone-less times are UTC. */
export function parseTimeAs(text: string, format: TimeFormat): number {
  if (format === 'iso8601' || format === 'datetime') {
    const m = DATE_TIME.exec(text);
    if (!m) return Number.NaN;
    if (format === 'datetime' && m[4] !== ' ') return Number.NaN;
    if (format === 'iso8601' && m[4] === ' ') return Number.NaN;
    const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[5], m[6], m[7]].map((x) => (x === undefined ? 0 : Number(x))) as [number, number, number, number, number, number];
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return Number.NaN;
    let t = Date.UTC(y, mo - 1, d, h, mi, s) / 1000 + (m[8] ? Number(m[8]) : 0);
    const zone = m[9];
    if (zone && zone !== 'Z') {
      const sign = zone[0] === '-' ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      t -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
    }
    // Date.UTC rolls 2021-02-31 into March; reject such dates.
    if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return Number.NaN;
    return t;
  }
  if (!NUMBER.test(text)) return Number.NaN;
  const v = Number(text);
  return format === 'epoch-milliseconds' ? v / 1000 : v;
}

/** The most common spacing between consecutive rows (over the first 20,000), in seconds. */
export function modalSpacing(times: Float64Array): number {
  const counts = new Map<number, number>();
  const n = Math.min(times.length, 20_001);
  for (let i = 1; i < n; i++) {
    const d = Math.round(((times[i] as number) - (times[i - 1] as number)) * 1000) / 1000;
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = 0;
  let bestCount = -1;
  for (const [d, c] of counts) if (c > bestCount || (c === bestCount && d < best)) [best, bestCount] = [d, c];
  return best > 0 ? best : 1;
}

/** Split one CSV line; handles double-quoted fields with "" escapes. */
export function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Place the rows on a regular grid at the trace's step; grid points without a row are NaN (missing). */
export function toSeries(trace: Trace): { start: number; step: number; values: Float64Array } {
  const { times, values, step } = trace;
  const start = times[0] as number;
  const n = Math.round(((times[times.length - 1] as number) - start) / step) + 1;
  if (n > 50_000_000) throw new ShadowscaleError('SHADOWSCALE_E_TRACE_FORMAT', `${trace.file}: the time span is too long for step ${step}s (${n} points)`);
  const out = new Float64Array(n).fill(Number.NaN);
  for (let i = 0; i < times.length; i++) out[Math.round(((times[i] as number) - start) / step)] = values[i] as number;
  return { start, step, values: out };
}
