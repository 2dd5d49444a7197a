// Writing settings back into a configuration file, in place: the YAML document is edited node by node,
// so comments, key order and formatting elsewhere are kept. The result is validated before the file is
// replaced (written beside it, then renamed), so a failed write changes nothing.

import { accessSync, constants, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { ShadowscaleError } from '../core/errors.js';
import { loadConfig } from './load.js';

/** The document of `file` and the index of `service` in it; throws naming the file when either is missing. */
function openForWrite(file: string, service: string): { doc: Document; index: number } {
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
  return { doc, index };
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
  openForWrite(file, service);
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
  const { doc, index } = openForWrite(file, service);
  for (const [path, value] of Object.entries(settings)) doc.setIn(['services', index, ...path.split('.')], value);
  const out = doc.toString();
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
