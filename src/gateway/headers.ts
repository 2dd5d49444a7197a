// Header handling for a proxy (RFC 9110 §7.6.1): hop-by-hop fields, including those named by
// Connection, are not forwarded; X-Forwarded-For/-Proto/-Host describe the client. Fields are flat
// lists as on the wire, [name, value, name, value, ...], names in their received case.

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

/** The end-to-end fields of a list: without hop-by-hop fields, those its Connection names, and `also`. */
function endToEnd(fields: readonly string[], also?: ReadonlySet<string>): string[] {
  let named: Set<string> | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const t of (fields[i + 1] as string).split(',')) {
      const token = t.trim().toLowerCase();
      if (token) (named ??= new Set()).add(token);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const lower = (fields[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || also?.has(lower)) continue;
    out.push(fields[i] as string, fields[i + 1] as string);
  }
  return out;
}

/** The value of a field (the first, for a repeated one), by lowercase name. */
export function fieldValue(fields: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return fields[i + 1];
  }
  return undefined;
}

// Answered by the gateway (Expect) or replaced (the forwarding fields).
const REPLACED = new Set(['expect', 'x-forwarded-for', 'x-forwarded-proto']);

/** Fields to send upstream: end-to-end only, plus the forwarding fields. */
export function forwardHeaders(incoming: readonly string[], clientAddress: string | undefined, proto: 'http' | 'https'): string[] {
  const out = endToEnd(incoming, REPLACED);
  const chain: string[] = [];
  let priorProto: string | undefined;
  let host: string | undefined;
  let forwardedHost = false;
  for (let i = 0; i < incoming.length; i += 2) {
    const lower = (incoming[i] as string).toLowerCase();
    const v = incoming[i + 1] as string;
    if (lower === 'x-forwarded-for') chain.push(v);
    else if (lower === 'x-forwarded-proto') priorProto ??= v;
    else if (lower === 'host') host ??= v;
    else if (lower === 'x-forwarded-host') forwardedHost = true;
  }
  if (clientAddress) chain.push(clientAddress);
  if (chain.length) out.push('x-forwarded-for', chain.join(', '));
  out.push('x-forwarded-proto', priorProto ?? proto);
  if (host !== undefined && !forwardedHost) out.push('x-forwarded-host', host);
  return out;
}

/** Response fields to send back to the client: end-to-end only. */
export function responseHeaders(upstream: readonly string[]): string[] {
  return endToEnd(upstream);
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
