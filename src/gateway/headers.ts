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

/** Whether a field name (a string, or bytes as received) is `lower`, ignoring ASCII case; no string is made. */
function nameIs(name: string | Buffer, lower: string): boolean {
  if (name.length !== lower.length) return false;
  if (typeof name === 'string') return name.toLowerCase() === lower;
  for (let i = 0; i < lower.length; i++) {
    let c = name[i] as number;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

const text = (f: string | Buffer): string => (typeof f === 'string' ? f : f.toString('latin1'));

/** The tokens Connection fields name (lowercase), leaving out those that name nothing not dropped anyway. */
function connectionTokens(fields: readonly (string | Buffer)[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    if (!nameIs(fields[i] as string | Buffer, 'connection')) continue;
    const value = fields[i + 1] as string | Buffer;
    // The usual values, without reading them as text.
    if (nameIs(value, 'keep-alive') || nameIs(value, 'close')) continue;
    for (const t of text(value).split(',')) {
      const token = t.trim().toLowerCase();
      if (token && token !== 'close' && !HOP_BY_HOP.has(token)) (named ??= new Set()).add(token);
    }
  }
  return named;
}

/** The value of a field (the first, for a repeated one), by lowercase name. */
export function fieldValue(fields: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (nameIs(fields[i] as string, lowerName)) return fields[i + 1];
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

const HOP_BY_LENGTH: string[][] = [];
for (const n of HOP_BY_HOP) (HOP_BY_LENGTH[n.length] ??= []).push(n);

function isHopByHop(name: string | Buffer): boolean {
  const candidates = HOP_BY_LENGTH[name.length];
  if (!candidates) return false;
  for (const c of candidates) if (nameIs(name, c)) return true;
  return false;
}

/**
 * Response fields to send back to the client: end-to-end only. Raw fields (undici's Buffers) stay raw:
 * names are compared byte by byte, and only a Connection field's value is read as text.
 */
export function responseHeaders<F extends string | Buffer>(upstream: readonly F[]): F[] {
  const named = connectionTokens(upstream);
  const out: F[] = [];
  for (let i = 0; i < upstream.length; i += 2) {
    const name = upstream[i] as F;
    if (isHopByHop(name)) continue;
    if (named?.has(text(name).toLowerCase())) continue;
    out.push(name, upstream[i + 1] as F);
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
