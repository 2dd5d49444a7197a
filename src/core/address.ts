// Addresses in URLs: an IPv6 host goes in brackets (http://[::1]:8080); http://::1:8080 is no URL.

/** An http URL's host part for a host (brackets for IPv6). */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
