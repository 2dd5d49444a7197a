// Listening on an address the user gave: a port in use, an address not on this host or a port that
// needs privileges is the user's input, reported as such (exit 2) rather than as an unhandled 'error'.

import { createServer, type AddressInfo, type Server } from 'node:net';
import { urlHost } from '../core/address.js';
import { ShadowscaleError } from '../core/errors.js';

const WHY: Record<string, string> = {
  EADDRINUSE: 'the port is in use by another process',
  EADDRNOTAVAIL: 'the address is not one of this host\'s',
  EAFNOSUPPORT: 'this host does not have that address family (IPv6 turned off?)',
  EACCES: 'the port needs privileges this process does not have',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
};

/** The error of a failed listen, naming what was listening (`what`, e.g. "--admin") and the address. */
export function listenFailure(err: unknown, what: string, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const why = WHY[code];
  const where = `${urlHost(host)}:${port}`;
  if (why) return new ShadowscaleError('SHADOWSCALE_E_USAGE', `${what} ${where}: cannot listen there: ${why} (${code})`, { cause: err });
  return err as Error;
}

/** `server.listen(port, host)`, rejecting with listenFailure() instead of emitting 'error'. */
export function listenOn(server: Server, port: number, host: string, what: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(listenFailure(err, what, host, port));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Bind and release the address once (port 0 needs no check): for listeners in other processes (the
 * cluster's workers), whose failure would otherwise only be a worker's exit.
 */
export async function checkListen(host: string, port: number, what: string): Promise<void> {
  if (port === 0) return;
  const s = createServer();
  await listenOn(s, port, host, what);
  await new Promise<void>((r) => s.close(() => r()));
}
