// Writing settings back into a configuration file, in place: the YAML document is edited node by node,
// so comments, key order and formatting elsewhere are kept. The result is validated before the file is
// replaced (written beside it, then renamed), so a failed write changes nothing.

import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { isMap, isSeq, parseDocument } from 'yaml';
import { ShadowscaleError } from '../core/errors.js';
import { loadConfig } from './load.js';

/**
 * Set `settings` (dotted paths below the service, e.g. `scaling.predictive.adaptRate`) on the service
 * named `service` in `file`. Throws SHADOWSCALE_E_CONFIG_* naming the file when it cannot be read, has no
 * such service, or would not validate afterwards.
 */
export function writeServiceSettings(file: string, service: string, settings: Readonly<Record<string, number | string>>): void {
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
  for (const [path, value] of Object.entries(settings)) doc.setIn(['services', index, ...path.split('.')], value);
  const out = doc.toString();
  const tmp = `${file}.tune-${process.pid}.tmp`;
  writeFileSync(tmp, out);
  try {
    loadConfig({ file: tmp });
  } catch (err) {
    unlinkSync(tmp);
    if (err instanceof ShadowscaleError) throw new ShadowscaleError(err.code, err.message.split(tmp).join(file));
    throw err;
  }
  renameSync(tmp, file);
}
