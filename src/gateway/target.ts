// The request target and Host of a request (RFC 9112 §3.2 and §3.2.1–3.2.4), checked before anything
// is forwarded: a request that the gateway cannot forward is the client's fault and is answered 400
// by the front end, so it never reaches an upstream and never counts against a member.
//
// 1. The target is origin-form (`/path?query`), absolute-form (`http://authority/path`, taken apart:
//    the authority replaces Host, as §3.2.2 says a server must), or asterisk-form (`*`). Authority-form
//    is CONNECT's, which the front end refuses as an upgrade before this runs.
// 2. Asterisk-form names the server itself, not a resource: a reverse proxy has nothing to forward.
// 3. HTTP/1.1 requires exactly one Host; HTTP/1.0 may omit it. Two Host fields, an empty one (for
//    origin-form) or one that is not `uri-host [":" port]` is refused.

export type TargetRefusal = 'bad_host' | 'bad_target';

export type Target =
  | { readonly ok: true; readonly path: string; /** A replacement Host value (absolute-form), or undefined to keep the fields. */ readonly host: string | undefined }
  | { readonly ok: false; readonly reason: TargetRefusal };

// reg-name = *( unreserved / pct-encoded / sub-delims ) (RFC 3986 §3.2.2), port = *DIGIT.
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
const IP_LITERAL = /^\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\]$/;
const PORT = /^[0-9]{0,5}$/;

/** The common shape (a name or IPv4 address, a port up to 65535): tested without making a string. */
const SIMPLE_HOST = /^[A-Za-z0-9._~-]+(?::(?:\d{1,4}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])?)?$/;

/** Whether `value` is `uri-host [":" port]` with a non-empty host. */
export function validHost(value: string): boolean {
  if (SIMPLE_HOST.test(value)) return true;
  let host = value;
  let port = '';
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return false;
    host = value.slice(0, close + 1);
    const rest = value.slice(close + 1);
    if (rest !== '') {
      if (rest[0] !== ':') return false;
      port = rest.slice(1);
    }
    if (!IP_LITERAL.test(host)) return false;
  } else {
    const colon = value.lastIndexOf(':');
    if (colon >= 0) {
      host = value.slice(0, colon);
      port = value.slice(colon + 1);
    }
    if (!REG_NAME.test(host)) return false;
  }
  return PORT.test(port) && (port === '' || Number(port) <= 65535);
}

/**
 * Checks the target and the Host fields of a parsed request head.
 * `fields` alternate name and value, as received; `httpMinor` is 0 for HTTP/1.0, 1 for HTTP/1.1.
 */
export function checkTarget(url: string, fields: readonly string[], httpMinor: number): Target {
  let hosts = 0;
  let hostValue = '';
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    // "host" in any case, compared without lowercasing a copy (this runs for every request).
    if (name.length === 4 && (name.charCodeAt(0) | 32) === 104 && (name.charCodeAt(1) | 32) === 111 && (name.charCodeAt(2) | 32) === 115 && (name.charCodeAt(3) | 32) === 116) {
      hosts++;
      hostValue = (fields[i + 1] as string).trim();
    }
  }
  if (hosts > 1) return { ok: false, reason: 'bad_host' }; // two or more Host fields
  if (hosts === 0 && httpMinor >= 1) return { ok: false, reason: 'bad_host' }; // HTTP/1.1 without Host
  const absolute = url[0] !== '/' && url !== '*';
  // An empty Host is what a client sends when the target's authority is elsewhere (absolute-form).
  if (hosts === 1 && !validHost(hostValue) && !(absolute && hostValue === '')) {
    return { ok: false, reason: 'bad_host' }; // empty, or not host[:port]
  }
  if (url === '*') return { ok: false, reason: 'bad_target' }; // asterisk-form: nothing to forward
  if (!absolute) return { ok: true, path: url, host: undefined };
  // Absolute-form: the authority replaces any Host field (RFC 9112 §3.2.2); what is forwarded is the
  // path and query as origin-form.
  const scheme = /^(https?):\/\//i.exec(url);
  if (!scheme) return { ok: false, reason: 'bad_target' }; // neither /path, http(s)://authority/path nor *
  const rest = url.slice(scheme[0].length);
  let end = rest.length;
  for (const c of ['/', '?', '#']) {
    const at = rest.indexOf(c);
    if (at >= 0 && at < end) end = at;
  }
  const authority = rest.slice(0, end);
  if (authority.includes('@')) return { ok: false, reason: 'bad_target' }; // userinfo
  if (!validHost(authority)) return { ok: false, reason: 'bad_target' }; // authority not host[:port]
  let path = rest.slice(end);
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  if (path === '' || path[0] === '?') path = `/${path}`;
  return { ok: true, path, host: authority };
}
