// Writing settings back into a configuration file, in place: the YAML document is edited node by node,
// so comments, key order and formatting elsewhere are kept. The result is validated before the file is
// replaced (written beside it, then renamed), so a failed write changes nothing.

import { accessSync, constants, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isAlias, isMap, isNode, isSeq, parseDocument, visit, type Document } from 'yaml';
import { ShadowscaleError } from '../core/errors.js';
import { loadConfig } from './load.js';

/** The document of `file` and the index of `service` in it; throws naming the file when either is missing. */
function openForWrite(file: string, service: string): { doc: Document; index: number; crlf: boolean } {
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
  return { doc, index, crlf: text.includes('\r\n') };
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
 * Set `settings` (dotted paths below the service, e.g. `scaling.predictive.adaptRate`) on the service
 * named `service` in `file`. Throws SHADOWSCALE_E_CONFIG_* naming the file when it cannot be read or
 * written, has no such service, or would not validate afterwards. The file is read again here, so edits
 * made to it during a search are kept.
 */
export function writeServiceSettings(file: string, service: string, settings: Readonly<Record<string, number | string>>): void {
  const { doc, index, crlf } = openForWrite(file, service);
  refuseShared(file, doc, index, Object.keys(settings));
  for (const [path, value] of Object.entries(settings)) doc.setIn(['services', index, ...path.split('.')], value);
  // No folding: a flow mapping or a long value stays on its line (at 80 columns, one-line instance types had
  // been spread over several).
  const lf = doc.toString({ lineWidth: 0 });
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
