// Header handling for a proxy (RFC 9110 §7.6.1): hop-by-hop fields, including those named by
// Connection, are not forwarded; X-Forwarded-For/-Proto/-Host describe the client. Fields are flat
// lists as on the wire, [name, value, name, value, ...], names in their received case.

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);
// Answered by the gateway (Expect) or rewritten (the forwarding fields).
const REWRITTEN = ['expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'host'];

// Names are lowercased only when their length is one of these (the hot path: most fields are not).
const NOTABLE_LENGTH = new Uint8Array(64);
for (const n of [...HOP_BY_HOP, ...REWRITTEN]) NOTABLE_LENGTH[n.length] = 1;
const notable = (name: string): boolean => name.length >= 64 || NOTABLE_LENGTH[name.length] === 1;

/** The tokens a Connection field names (lowercase), if there is one. */
function connectionTokens(fields: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const t of (fields[i + 1] as string).split(',')) {
      const token = t.trim().toLowerCase();
      // "close" and "keep-alive" (the usual values) name no field that is not dropped anyway.
      if (token && token !== 'close' && !HOP_BY_HOP.has(token)) (named ??= new Set()).add(token);
    }
  }
  return named;
}

/** The value of a field (the first, for a repeated one), by lowercase name. */
export function fieldValue(fields: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return fields[i + 1];
  }
  return undefined;
}

/** Fields to send upstream: end-to-end only, plus the forwarding fields (one pass). */
export function forwardHeaders(incoming: readonly string[], clientAddress: string | undefined, proto: 'http' | 'https'): string[] {
  const named = connectionTokens(incoming);
  const out: string[] = [];
  let chain = '';
  let priorProto: string | undefined;
  let host: string | undefined;
  let forwardedHost = false;
  for (let i = 0; i < incoming.length; i += 2) {
    const name = incoming[i] as string;
    const value = incoming[i + 1] as string;
    if (named || notable(name)) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || named?.has(lower) || lower === 'expect') continue;
      if (lower === 'x-forwarded-for') {
        chain = chain ? `${chain}, ${value}` : value;
        continue;
      }
      if (lower === 'x-forwarded-proto') {
        priorProto ??= value;
        continue;
      }
      if (lower === 'host') host ??= value;
      else if (lower === 'x-forwarded-host') forwardedHost = true;
    }
    out.push(name, value);
  }
  if (clientAddress) chain = chain ? `${chain}, ${clientAddress}` : clientAddress;
  if (chain) out.push('x-forwarded-for', chain);
  out.push('x-forwarded-proto', priorProto ?? proto);
  if (host !== undefined && !forwardedHost) out.push('x-forwarded-host', host);
  return out;
}

/** Response fields to send back to the client (as undici gives them): end-to-end only, as strings. */
export function responseHeaders(upstream: readonly (string | Buffer)[]): string[] {
  const fields = upstream.map((f) => (typeof f === 'string' ? f : f.toString('latin1')));
  const named = connectionTokens(fields);
  const out: string[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    if (named || notable(name)) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    }
    out.push(name, fields[i + 1] as string);
  }
  return out;
}

/** A field list as a record with lowercase names (a repeated field becomes a list). */
export function headerRecord(fields: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < fields.length; i += 2) {
    const k = (fields[i] as string).toLowerCase();
    const v = fields[i + 1] as string;
    const prior = out[k];
    out[k] = prior === undefined ? v : Array.isArray(prior) ? [...prior, v] : [prior, v];
  }
  return out;
}
