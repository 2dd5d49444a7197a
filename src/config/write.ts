// Writing settings back into a configuration file, in place: the YAML document is edited node by node,
// so comments and key order are kept, and only the lines the edit changes are printed anew: every other
// line stays as the file had it (keepLines). The result is validated before the file is replaced (written
// beside it, then renamed), so a failed write changes nothing.

import { accessSync, constants, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { diffArrays } from 'diff';
import { isAlias, isMap, isNode, isSeq, parseDocument, visit, type Document, type ToStringOptions } from 'yaml';
import { ShadowscaleError } from '../core/errors.js';
import { loadConfig } from './load.js';

/** The document of `file` and the index of `service` in it; throws naming the file when either is missing. */
function openForWrite(file: string, service: string): { doc: Document; index: number; crlf: boolean; text: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_READ', `${file}: cannot read the configuration file to write to (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length > 0) throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_READ', `${file}: not valid YAML (${doc.errors[0]?.message.split('\n')[0]})`);
  const services = doc.get('services', true);
  const index = isSeq(services) ? services.items.findIndex((s) => isMap(s) && s.get('name') === service) : -1;
  if (index < 0) throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_INVALID', `${file}: services: no service named "${service}" to write the tuned settings to (add it, or pass the file that defines it)`);
  // A file written with CRLF line ends (an editor on Windows) keeps them; the document prints LF.
  return { doc, index, crlf: text.includes('\r\n'), text };
}

/**
 * Where writing `path` (keys below the service) would change another part of the file too: a node on the
 * way that is an alias (*name) or carries an anchor (&name) that an alias repeats elsewhere. YAML shares
 * such a node, so a setting written into it applies to every place that names it (another service too).
 */
function sharedAlong(doc: Document, index: number, path: readonly string[]): string | undefined {
  const aliased = new Set<string>();
  visit(doc, {
    Alias: (_key, node) => {
      aliased.add(node.source);
    },
  });
  let node: unknown = doc.getIn(['services', index], true);
  let where = `services[${index}]`;
  for (let i = 0; ; i++) {
    // A value that is an alias is replaced by the setting, here only; a mapping on the way is shared.
    if (isAlias(node)) return i === path.length ? undefined : `${where} is the alias *${node.source}`;
    if (isNode(node) && node.anchor !== undefined && aliased.has(node.anchor)) return `${where} is the anchor &${node.anchor}, repeated elsewhere by *${node.anchor}`;
    const key = path[i];
    if (key === undefined || !isMap(node)) return undefined;
    node = node.get(key, true);
    if (node === undefined) return undefined;
    where = `${where}.${key}`;
  }
}

function refuseShared(file: string, doc: Document, index: number, paths: readonly string[]): void {
  for (const path of paths) {
    const shared = sharedAlong(doc, index, path.split('.'));
    if (shared) throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_WRITE', `${file}: ${shared}: the tuned settings written there would change every place that shares it; give the service its own mapping there (or set the settings by hand); the configuration is unchanged`);
  }
}

/** Remove what a failed write left at `tmp`: a file only (a directory there is not ours, and unlink refuses it). */
function removePartial(tmp: string): void {
  try {
    unlinkSync(tmp);
  } catch {
    // nothing written, or not a file
  }
}

/**
 * What `writeServiceSettings` will need, checked before a long search so that it never ends in a failed
 * write: the file reads, parses, defines `service`, and its folder takes the file written beside it.
 */
export function checkServiceWritable(file: string, service: string): void {
  const { doc, index } = openForWrite(file, service);
  // Every setting `tune` writes is below scaling (its predictive, hybrid and reactive parts).
  refuseShared(file, doc, index, ['scaling.predictive.x', 'scaling.hybrid.x', 'scaling.reactive.x']);
  try {
    accessSync(dirname(file), constants.W_OK);
  } catch (err) {
    throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_WRITE', `${file}: its folder does not take the new file written beside it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/**
 * For each line of `rendered`, the line of `original` it prints: lines the printer kept, and lines it
 * changed in place (a run of lines replaced by as many); -1 where it joined, split or moved lines.
 */
function lineMap(original: readonly string[], rendered: readonly string[]): Int32Array {
  const map = new Int32Array(rendered.length).fill(-1);
  const parts = diffArrays(original as string[], rendered as string[]);
  let o = 0;
  let r = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as (typeof parts)[number];
    const n = p.value.length;
    const next = parts[i + 1];
    if (!p.added && !p.removed) {
      for (let k = 0; k < n; k++) map[r + k] = o + k;
      o += n;
      r += n;
    } else if (p.removed && next?.added && next.value.length === n) {
      for (let k = 0; k < n; k++) map[r + k] = o + k;
      o += n;
      r += n;
      i++;
    } else if (p.removed) o += n;
    else r += n;
  }
  return map;
}

/**
 * `original` with the changes between `rendered` (the printer's rendering of `original`) and `edited` (its
 * rendering after the edit) applied line by line, so that what the printer alone would change (padding in
 * flow collections, quoting, indentation) stays as the file had it. Undefined when a changed line has no
 * line of `original` to stand for.
 */
export function keepLines(original: string, rendered: string, edited: string): string | undefined {
  const o = original.split('\n');
  const r = rendered.split('\n');
  const map = lineMap(o, r);
  const edits: { from: number; to: number; lines: string[] }[] = [];
  const parts = diffArrays(r, edited.split('\n'));
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as (typeof parts)[number];
    if (!p.added && !p.removed) {
      at += p.value.length;
      continue;
    }
    const removed = p.removed ? p.value.length : 0;
    let lines: string[] = p.added ? p.value : [];
    const next = parts[i + 1];
    if (p.removed && next?.added) {
      // A run replaced: the removed lines, then the added ones in their place.
      lines = next.value;
      i++;
    }
    let from: number;
    if (removed > 0) {
      from = map[at] as number;
      for (let k = 0; k < removed; k++) if (from < 0 || map[at + k] !== from + k) return undefined;
    } else if (at > 0) from = (map[at - 1] as number) < 0 ? -1 : (map[at - 1] as number) + 1;
    else from = r.length > 0 ? (map[0] as number) : 0;
    if (from < 0) return undefined;
    edits.push({ from, to: from + removed, lines });
    at += removed;
  }
  for (let k = edits.length - 1; k >= 0; k--) {
    const e = edits[k] as (typeof edits)[number];
    o.splice(e.from, e.to - e.from, ...e.lines);
  }
  return o.join('\n');
}

/** Whether `text` is valid YAML holding the same data as `doc`. */
function readsAs(text: string, doc: Document): boolean {
  const read = parseDocument(text);
  return read.errors.length === 0 && isDeepStrictEqual(read.toJS(), doc.toJS());
}

/**
 * The printer's options closest to how `text` (the source of `doc`) is laid out, its indentation and block
 * sequences indented or not, and `doc` rendered with them.
 */
function layoutOf(text: string, doc: Document): { options: ToStringOptions; rendered: string } {
  // No folding: a flow mapping or a long value stays on its line (at 80 columns, one-line instance types had
  // been spread over several).
  let best: { options: ToStringOptions; rendered: string; same: number } | undefined;
  const lines = text.split('\n');
  const indents = lines.map((l) => /^( *)[^ #\n]/.exec(l)?.[1]?.length ?? 0).filter((n) => n > 0);
  const indent = Math.min(8, ...indents, indents.length > 0 ? Infinity : 2);
  for (const indentSeq of [true, false]) {
    const options: ToStringOptions = { lineWidth: 0, indent, indentSeq };
    const rendered = doc.toString(options);
    const printed = new Set(rendered.split('\n'));
    const same = lines.filter((l) => printed.has(l)).length;
    if (!best || same > best.same) best = { options, rendered, same };
  }
  return best as { options: ToStringOptions; rendered: string };
}

/**
 * Set `settings` (dotted paths below the service, e.g. `scaling.predictive.adaptRate`) on the service
 * named `service` in `file`. Throws SHADOWSCALE_E_CONFIG_* naming the file when it cannot be read or
 * written, has no such service, or would not validate afterwards. The file is read again here, so edits
 * made to it during a search are kept.
 */
export function writeServiceSettings(file: string, service: string, settings: Readonly<Record<string, number | string>>): void {
  const { doc, index, crlf, text } = openForWrite(file, service);
  refuseShared(file, doc, index, Object.keys(settings));
  const original = text.replace(/\r\n/g, '\n');
  const { options, rendered } = layoutOf(original, doc);
  for (const [path, value] of Object.entries(settings)) doc.setIn(['services', index, ...path.split('.')], value);
  const printed = doc.toString(options);
  // The file's own lines where they stand for the same document; the printer's whole rendering otherwise.
  const kept = keepLines(original, rendered, printed);
  const lf = kept !== undefined && readsAs(kept, doc) ? kept : printed;
  const out = crlf ? lf.replace(/\r?\n/g, '\r\n') : lf;
  const tmp = `${file}.tune-${process.pid}.tmp`;
  try {
    writeFileSync(tmp, out);
  } catch (err) {
    removePartial(tmp);
    throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_WRITE', `${file}: cannot write the new file beside it (${(err as NodeJS.ErrnoException).code ?? String(err)}); the configuration is unchanged`);
  }
  try {
    loadConfig({ file: tmp });
  } catch (err) {
    unlinkSync(tmp);
    if (err instanceof ShadowscaleError) throw new ShadowscaleError(err.code, err.message.split(tmp).join(file));
    throw err;
  }
  try {
    renameSync(tmp, file);
  } catch (err) {
    removePartial(tmp);
    throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_WRITE', `${file}: cannot replace it with the new file written beside it (${(err as NodeJS.ErrnoException).code ?? String(err)}); the configuration is unchanged`);
  }
}
