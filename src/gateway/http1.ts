// The gateway's HTTP/1.1 front end: net sockets parsed by llhttp, the parser node:http itself uses,
// from undici's WebAssembly build (one instance per process). node:http's server builds an
// IncomingMessage, a ServerResponse and their streams per request, which a proxy does not need; here a
// request is a few fields and a response writes its head and body straight to the socket.
//
// Per connection, one exchange at a time (pipelined requests wait, unparsed, until the response before
// them has ended):
// 1. llhttp parses the head strictly (node's defaults: no lenient flags). A malformed request is answered
//    400 (431 when the head exceeds `maxHeaderBytes`, 501 for Upgrade/CONNECT) and the connection is
//    closed; nothing reaches the handler.
// 2. At the end of the head the handler gets the request; a body streams through `body` (with
//    backpressure: the socket pauses while the consumer is full) and through the optional `tap`.
// 3. The response frames itself: the upstream's Content-Length is kept, otherwise chunked for HTTP/1.1
//    and close-delimited for HTTP/1.0; `Expect: 100-continue` is answered here.
// 4. Timeouts: a head not complete after `headersTimeoutMs` or a request body not complete after
//    `requestTimeoutMs` gets 408; a connection idle between requests for `keepAliveTimeoutMs` is closed.

import { STATUS_CODES } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { checkTarget, type TargetRefusal } from './target.js';

// The few WebAssembly names used here (the project's TypeScript libs do not declare them).
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, (...a: number[]) => number>>) => { exports: unknown };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Llhttp {
  memory: { buffer: ArrayBuffer };
  _initialize?: () => void;
  malloc(size: number): number;
  free(ptr: number): void;
  llhttp_alloc(type: number): number;
  llhttp_free(ptr: number): void;
  llhttp_execute(ptr: number, data: number, len: number): number;
  llhttp_resume(ptr: number): void;
  llhttp_get_error_pos(ptr: number): number;
  llhttp_get_error_reason(ptr: number): number;
  llhttp_get_method(ptr: number): number;
  llhttp_get_http_minor(ptr: number): number;
  llhttp_method_name(method: number): number;
}

const TYPE_REQUEST = 1;
const HPE_OK = 0;
const HPE_PAUSED = 21;
/** on_headers_complete: 0 continue; 1 no body; -1 error. */
const STOP = -1;

let current: Connection | null = null;
let llhttp: Llhttp | undefined;
let view: Buffer = Buffer.alloc(0);
let inputPtr = 0;
let inputSize = 0;
const methodNames: string[] = [];

const mem = (): Buffer => {
  const b = (llhttp as Llhttp).memory.buffer;
  if (view.buffer !== b) view = Buffer.from(b);
  return view;
};
const text = (at: number, len: number): string => mem().toString('latin1', at, at + len);
const cString = (ptr: number): string => {
  const m = mem();
  const end = m.indexOf(0, ptr);
  return m.toString('latin1', ptr, end < 0 ? ptr : end);
};

/** Instantiate llhttp once per process (SIMD build when the machine has it). */
function parser(): Llhttp {
  if (llhttp) return llhttp;
  const require = createRequire(import.meta.url);
  let mod: object;
  try {
    mod = new Wasm.Module(require('undici/lib/llhttp/llhttp_simd-wasm.js') as Buffer);
  } catch {
    mod = new Wasm.Module(require('undici/lib/llhttp/llhttp-wasm.js') as Buffer);
  }
  const c = (): Connection => current as Connection;
  const instance = new Wasm.Instance(mod, {
    env: {
      wasm_on_message_begin: () => c().onMessageBegin(),
      wasm_on_url: (_p: number, at: number, len: number) => c().onUrl(at, len),
      wasm_on_status: () => 0,
      wasm_on_header_field: (_p: number, at: number, len: number) => c().onHeaderField(at, len),
      wasm_on_header_value: (_p: number, at: number, len: number) => c().onHeaderValue(at, len),
      wasm_on_headers_complete: (_p: number, _status: number, upgrade: number, keepAlive: number) => c().onHeadersComplete(upgrade === 1, keepAlive === 1),
      wasm_on_body: (_p: number, at: number, len: number) => c().onBody(at, len),
      wasm_on_message_complete: () => c().onMessageComplete(),
    },
  });
  llhttp = instance.exports as unknown as Llhttp;
  llhttp._initialize?.();
  return llhttp;
}

/** The error a request body ends with when its client breaks off or sends a malformed body: the client's fault. */
export const CLIENT_ABORTED = 'SHADOWSCALE_CLIENT_ABORTED';
const clientAbort = (): Error => Object.assign(new Error('client request aborted (closed, or a malformed body)'), { code: CLIENT_ABORTED });

export interface FrontRequest {
  readonly method: string;
  /** The request target as received. */
  readonly url: string;
  /** Field names and values as received, alternating: [name, value, name, value, ...]. */
  readonly rawHeaders: readonly string[];
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly httpMinor: number;
  readonly remoteAddress: string | undefined;
  /** The body as it arrives; null when the request has none. */
  readonly body: Readable | null;
  /** Body bytes received so far. */
  readonly bodyBytes: number;
  /** Told of each body chunk, of the body's end, and of a body that will never end (set by the handler). */
  tap: { chunk(c: Buffer): void; end(): void; abort(): void } | undefined;
  /** Called when the client goes away before the response has ended (set by the handler). */
  onAbort: (() => void) | undefined;
}

export interface FrontServerOptions {
  /** Largest request head (request line and fields), as node:http's maxHeaderSize. */
  readonly maxHeaderBytes?: number;
  readonly headersTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly keepAliveTimeoutMs?: number;
  readonly now?: () => number;
  /** A request answered by the front end itself: malformed, too large, timed out, unsupported, or its handler threw. */
  readonly onRefused?: (reason: RefusalReason | 'request_timeout' | 'handler_error') => void;
}

export type FrontHandler = (req: FrontRequest, res: FrontResponse) => void;

/** Why the parser refused a request. */
type RefusalReason = 'bad_request' | 'header_too_large' | 'upgrade_not_supported' | TargetRefusal;

/** A field name or value: a latin1 string, or bytes as received (undici's raw response fields). */
export type Field = string | Buffer;

const put = (out: Buffer, at: number, f: Field): number => (typeof f === 'string' ? at + out.write(f, at, 'latin1') : at + f.copy(out, at));

/** A response on its connection: head, body and framing. */
export class FrontResponse {
  headersSent = false;
  ended = false;
  /** Bytes written to the client (status line, fields, framing and body). */
  bytesWritten = 0;
  private chunked = false;
  private noBody = false;
  // The head waits for the first body chunk (one buffer, one write for a small response); its fields
  // are copied as they are (undici's Buffers, our strings), with no string built per field.
  private headPending = false;
  private statusLine = '';
  private fields: readonly Field[] = [];
  /** Framing and Connection lines, then the blank line. */
  private extra = '';

  constructor(
    private readonly conn: Connection,
    private readonly method: string,
  ) {}

  /**
   * Start the response. `fields` are end-to-end fields, flat [name, value, ...] (latin1 strings or raw
   * bytes): framing and Connection are added here. `close` asks for the connection to close after it.
   */
  writeHead(status: number, statusText: string, fields: readonly Field[], close = false): void {
    if (this.headersSent) throw new Error('response head already sent');
    this.headersSent = true;
    this.headPending = true;
    const conn = this.conn;
    if (close) conn.closeAfter = true;
    this.statusLine = `HTTP/1.1 ${status} ${statusText || 'Unknown'}\r\n`;
    this.fields = fields;
    let length = false;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i] as Field;
      if (name.length === 14 && name.toString('latin1').toLowerCase() === 'content-length') length = true;
    }
    let extra = '';
    this.noBody = this.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    if (!this.noBody && !length) {
      if (conn.httpMinor >= 1) {
        this.chunked = true;
        extra += 'transfer-encoding: chunked\r\n';
      } else conn.closeAfter = true;
    }
    if (conn.closeAfter || !conn.keepAlive) extra += 'connection: close\r\n';
    else if (conn.httpMinor === 0) extra += 'connection: keep-alive\r\n';
    this.extra = `${extra}\r\n`;
  }

  private headSize(): number {
    let n = this.statusLine.length + this.extra.length;
    const f = this.fields;
    // name + ": " and value + CRLF
    for (let i = 0; i < f.length; i++) n += (f[i] as Field).length + 2;
    return n;
  }

  private putHead(out: Buffer): number {
    let at = out.write(this.statusLine, 0, 'latin1');
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) {
      at = put(out, at, f[i] as Field);
      out[at++] = 58; // ':'
      out[at++] = 32; // ' '
      at = put(out, at, f[i + 1] as Field);
      out[at++] = 13;
      out[at++] = 10;
    }
    return at + out.write(this.extra, at, 'latin1');
  }

  /** Write a body chunk; false when the socket is full (wait for `onDrain`). */
  write(chunk: Buffer): boolean {
    if (this.noBody || chunk.length === 0) return true;
    let out = chunk;
    if (this.headPending || this.chunked) {
      const size = this.chunked ? `${chunk.length.toString(16)}\r\n` : '';
      out = Buffer.allocUnsafe((this.headPending ? this.headSize() : 0) + size.length + chunk.length + (this.chunked ? 2 : 0));
      let at = this.headPending ? this.putHead(out) : 0;
      this.headPending = false;
      at += out.write(size, at, 'latin1');
      at += chunk.copy(out, at);
      if (this.chunked) out.write('\r\n', at, 'latin1');
    }
    this.bytesWritten += out.length;
    return this.conn.socket.write(out);
  }

  /** Call `fn` once the socket can take more. */
  onDrain(fn: () => void): void {
    this.conn.socket.once('drain', fn);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    const tail = this.chunked ? '0\r\n\r\n' : '';
    if (this.headPending) {
      this.headPending = false;
      const out = Buffer.allocUnsafe(this.headSize() + tail.length);
      out.write(tail, this.putHead(out), 'latin1');
      this.bytesWritten += out.length;
      this.conn.socket.write(out);
    } else if (tail) {
      this.bytesWritten += tail.length;
      this.conn.socket.write(tail, 'latin1');
    }
    this.conn.responseEnded();
  }

  /** Answer a whole small response (an error) and close the connection after it. */
  send(status: number, statusText: string, fields: readonly string[], body: string): void {
    this.writeHead(status, statusText, [...fields, 'content-length', String(Buffer.byteLength(body))], true);
    this.write(Buffer.from(body));
    this.end();
  }

  /** Give up on the response: the connection is destroyed (the client sees it cut short). */
  destroy(): void {
    this.ended = true;
    this.conn.socket.destroy();
  }
}

class Connection {
  readonly ptr: number;
  keepAlive = true;
  closeAfter = false;
  httpMinor = 1;
  // The request being parsed.
  private url = '';
  private fields: string[] = [];
  private headBytes = 0;
  private contentLength: string | undefined;
  private chunked = false;
  private expectContinue = false;
  private refusal: { status: number; reason: RefusalReason } | undefined;
  // The exchange in progress.
  private req: (FrontRequest & { bodyBytes: number }) | undefined;
  private res: FrontResponse | undefined;
  private body: Readable | null = null;
  private reqDone = false;
  /** Set inside the parser's callbacks: what to do when llhttp_execute returns. */
  private stop = false;
  private executing = false;
  private parserPaused = false;
  private bodyPaused = false;
  private pending: Buffer | undefined;
  private dead = false;
  // Timeouts (ms from the server's clock; 0 = not running).
  headSince = 0;
  bodySince = 0;
  idleSince: number;

  constructor(
    readonly socket: Socket,
    private readonly server: FrontServer,
  ) {
    this.ptr = parser().llhttp_alloc(TYPE_REQUEST);
    this.idleSince = server.now();
  }

  // --- llhttp callbacks (inside execute) ---

  onMessageBegin(): number {
    this.url = '';
    this.fields = [];
    this.headBytes = 0;
    this.contentLength = undefined;
    this.chunked = false;
    this.expectContinue = false;
    this.reqDone = false;
    this.headSince = this.server.now();
    this.idleSince = 0;
    return 0;
  }

  private grow(len: number): boolean {
    this.headBytes += len;
    if (this.headBytes <= this.server.maxHeaderBytes) return true;
    this.refusal = { status: 431, reason: 'header_too_large' };
    return false;
  }

  onUrl(at: number, len: number): number {
    if (!this.grow(len)) return STOP;
    this.url += text(at, len);
    return 0;
  }

  // Fields alternate name, value: a piece of a name or value split across reads extends the last entry.
  onHeaderField(at: number, len: number): number {
    if (!this.grow(len)) return STOP;
    const f = this.fields;
    if (f.length % 2 === 0) f.push(text(at, len));
    else f[f.length - 1] += text(at, len);
    return 0;
  }

  onHeaderValue(at: number, len: number): number {
    if (!this.grow(len)) return STOP;
    const f = this.fields;
    if (f.length % 2 === 1) f.push(text(at, len));
    else f[f.length - 1] += text(at, len);
    return 0;
  }

  onHeadersComplete(upgrade: boolean, keepAlive: boolean): number {
    const L = llhttp as Llhttp;
    if (upgrade) {
      this.refusal = { status: 501, reason: 'upgrade_not_supported' };
      return STOP;
    }
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) {
      const name = f[i] as string;
      const n = name.length;
      if (n === 14 || n === 17 || n === 6) {
        const lower = name.toLowerCase();
        if (lower === 'content-length') this.contentLength = f[i + 1];
        else if (lower === 'transfer-encoding') this.chunked = true;
        else if (lower === 'expect' && (f[i + 1] as string).trim().toLowerCase() === '100-continue') this.expectContinue = true;
      }
    }
    const m = L.llhttp_get_method(this.ptr);
    const method = (methodNames[m] ??= cString(L.llhttp_method_name(m)));
    this.httpMinor = L.llhttp_get_http_minor(this.ptr);
    // A target or Host that cannot be forwarded is refused here, before any handler sees it.
    const target = checkTarget(this.url, f, this.httpMinor);
    if (!target.ok) {
      this.refusal = { status: 400, reason: target.reason };
      return STOP;
    }
    if (target.host !== undefined) {
      // Absolute-form: forwarded as origin-form, its authority as the one Host.
      this.url = target.path;
      const i = f.findIndex((x, k) => k % 2 === 0 && x.toLowerCase() === 'host');
      if (i >= 0) f[i + 1] = target.host;
      else f.push('Host', target.host);
    }
    this.keepAlive = keepAlive;
    this.headSince = 0;
    const hasBody = this.chunked || (this.contentLength !== undefined && this.contentLength !== '0');
    if (hasBody) {
      this.bodySince = this.server.now();
      this.body = new Readable({
        read: () => {
          this.bodyPaused = false;
          this.flow();
        },
      });
      // An aborted body errors; its consumer may not listen for that, and it must not take the process down.
      this.body.on('error', () => undefined);
      if (this.expectContinue && this.httpMinor >= 1) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    } else this.body = null;
    this.req = { method, url: this.url, rawHeaders: f, httpMinor: this.httpMinor, remoteAddress: this.socket.remoteAddress, body: this.body, bodyBytes: 0, tap: undefined, onAbort: undefined };
    this.res = new FrontResponse(this, method);
    try {
      this.server.handler(this.req, this.res);
    } catch {
      // A handler's bug must not take the process down with it (the throw would unwind through the parser).
      this.server.onRefused?.('handler_error');
      if (!this.res.headersSent) this.res.send(500, STATUS_CODES[500] ?? '', ['x-shadowscale-reason', 'handler_error'], '500 handler_error\n');
      else this.res.destroy();
    }
    return 0;
  }

  onBody(at: number, len: number): number {
    const req = this.req;
    if (!req) return 0;
    // A copy: the parser's memory is reused by the next read.
    const chunk = Buffer.from(mem().subarray(at, at + len));
    req.bodyBytes += len;
    req.tap?.chunk(chunk);
    if (this.body && !this.body.destroyed && !this.body.push(chunk)) this.bodyPaused = true;
    return 0;
  }

  onMessageComplete(): number {
    this.reqDone = true;
    this.bodySince = 0;
    this.req?.tap?.end();
    if (this.body && !this.body.destroyed) this.body.push(null);
    this.body = null;
    if (this.res && !this.res.ended) {
      // Wait for the response before parsing what follows (pipelined requests).
      return HPE_PAUSED;
    }
    if (!this.keepAlive || this.closeAfter) this.stop = true;
    else this.startIdle();
    return this.stop ? HPE_PAUSED : 0;
  }

  // --- socket side ---

  private startIdle(): void {
    this.req = undefined;
    this.res = undefined;
    this.idleSince = this.server.now();
  }

  feed(chunk: Buffer): void {
    if (this.dead) return;
    if (this.parserPaused) {
      this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
      return;
    }
    const L = llhttp as Llhttp;
    if (chunk.length > inputSize) {
      if (inputPtr) L.free(inputPtr);
      inputSize = Math.ceil(chunk.length / 4096) * 4096;
      inputPtr = L.malloc(inputSize);
    }
    mem().set(chunk, inputPtr);
    this.executing = true;
    // The parser's callbacks are module functions: they reach this connection through `current`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    current = this;
    let ret: number;
    try {
      ret = L.llhttp_execute(this.ptr, inputPtr, chunk.length);
    } finally {
      current = null;
      this.executing = false;
    }
    if (ret === HPE_OK) {
      // Answered at once with a close (no upstream, say) while the body is still coming: stop here.
      if (this.res?.ended && this.closeAfter && !this.reqDone) {
        this.abortRequest();
        this.dead = true;
        this.socket.end();
      }
      return;
    }
    if (ret === HPE_PAUSED) {
      const consumed = L.llhttp_get_error_pos(this.ptr) - inputPtr;
      if (this.stop) {
        this.socket.end();
        this.dead = true;
        return;
      }
      this.parserPaused = true;
      if (consumed < chunk.length) this.pending = Buffer.from(chunk.subarray(consumed));
      this.flow();
      return;
    }
    this.fail();
  }

  /** The request could not be parsed: answer it if nothing was answered yet, then close. */
  private fail(): void {
    const refusal = this.refusal ?? { status: 400, reason: 'bad_request' as const };
    this.server.onRefused?.(refusal.reason);
    this.dead = true;
    this.abortRequest();
    if (this.res?.headersSent) {
      this.socket.destroy();
      return;
    }
    this.refuse(refusal.status, refusal.reason);
  }

  /** Answer with a bare status and close (the request never reached the handler). */
  refuse(status: number, reason: string): void {
    this.dead = true;
    this.socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nconnection: close\r\nx-shadowscale-reason: ${reason}\r\ncontent-length: 0\r\n\r\n`, 'latin1');
  }

  /** Pause or resume reading from the socket as the parser and the body consumer allow. */
  private flow(): void {
    if (this.parserPaused || this.bodyPaused) this.socket.pause();
    else this.socket.resume();
  }

  /** The response has ended: go on with the connection. */
  responseEnded(): void {
    if (this.dead || this.executing) {
      // Inside the parser (the handler answered at once): onMessageComplete goes on from here.
      return;
    }
    if (!this.reqDone) {
      // Answered before the request body was in: keep reading it (and drop it) unless closing.
      if (this.closeAfter) {
        this.abortRequest();
        this.dead = true;
        this.socket.end();
      }
      return;
    }
    if (!this.keepAlive || this.closeAfter) {
      this.dead = true;
      this.socket.end();
      return;
    }
    this.startIdle();
    if (current) queueMicrotask(() => this.resumeParsing());
    else this.resumeParsing();
  }

  /**
   * Go on with the bytes after the request just answered. Never inside another connection's parse: the
   * parser's input buffer and `current` are shared, so a response ending there waits for a microtask.
   */
  private resumeParsing(): void {
    if (this.dead) return;
    (llhttp as Llhttp).llhttp_resume(this.ptr);
    this.parserPaused = false;
    const next = this.pending;
    this.pending = undefined;
    this.flow();
    if (next) this.feed(next);
  }

  /** The request's body will never complete: tell its consumers. */
  private abortRequest(): void {
    if (this.req && !this.reqDone) this.req.tap?.abort();
    if (this.body && !this.body.destroyed) this.body.destroy(clientAbort());
    this.body = null;
  }

  /**
   * The client closed its side. As node:http does by default, that ends the exchange: a proxy cannot tell
   * a client that went away from one that half-closed, and an upstream request no one will read is waste.
   */
  ended(): void {
    this.dead = true;
    if (this.res && !this.res.ended) this.socket.destroy();
    else this.socket.end();
  }

  closed(): void {
    this.dead = true;
    this.abortRequest();
    if (this.res && !this.res.ended) {
      this.res.ended = true;
      this.req?.onAbort?.();
    }
    (llhttp as Llhttp).llhttp_free(this.ptr);
  }

  /** Enforce the timeouts (called by the server's sweep). */
  sweep(t: number): void {
    const s = this.server;
    if (this.dead) return;
    if (this.headSince && t - this.headSince > s.headersTimeoutMs) {
      s.onRefused?.('request_timeout');
      this.abortRequest();
      this.refuse(408, 'request_timeout');
    } else if (this.bodySince && t - this.bodySince > s.requestTimeoutMs) {
      s.onRefused?.('request_timeout');
      this.abortRequest();
      if (this.res?.headersSent) this.socket.destroy();
      else this.refuse(408, 'request_timeout');
    } else if (this.idleSince && t - this.idleSince > s.keepAliveTimeoutMs) {
      this.dead = true;
      this.socket.destroy();
    }
  }
}

/** An HTTP/1.1 server: a net server whose connections are parsed by llhttp and handed to `handler`. */
export class FrontServer {
  readonly server: Server;
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly now: () => number;
  readonly onRefused: FrontServerOptions['onRefused'];
  private readonly connections = new Set<Connection>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly handler: FrontHandler,
    o: FrontServerOptions = {},
  ) {
    parser();
    this.maxHeaderBytes = o.maxHeaderBytes ?? 16 * 1024;
    this.headersTimeoutMs = o.headersTimeoutMs ?? 60_000;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 300_000;
    this.keepAliveTimeoutMs = o.keepAliveTimeoutMs ?? 65_000;
    this.now = o.now ?? Date.now;
    this.onRefused = o.onRefused;
    this.server = createNetServer({ noDelay: true }, (socket) => {
      const c = new Connection(socket, this);
      this.connections.add(c);
      socket.on('data', (d: Buffer) => c.feed(d));
      socket.on('end', () => c.ended());
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.connections.delete(c);
        c.closed();
      });
    });
    this.timer = setInterval(() => {
      const t = this.now();
      for (const c of this.connections) c.sweep(t);
    }, Math.max(10, Math.min(1000, this.headersTimeoutMs / 4, this.requestTimeoutMs / 4, this.keepAliveTimeoutMs / 4)));
    this.timer.unref();
  }

  /** Stop accepting and destroy every connection. */
  close(): Promise<void> {
    clearInterval(this.timer);
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const c of this.connections) c.socket.destroy();
    });
  }
}
