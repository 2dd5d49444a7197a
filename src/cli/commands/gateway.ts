// `shadowscale gateway`: the data plane on its own.

import { Command, Option } from 'commander';
import { loadConfig, serviceByName } from '../../config/load.js';
import { urlHost } from '../../config/schema.js';
import { ShadowscaleError } from '../../core/errors.js';
import { closeSync, openSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminServer } from '../../gateway/admin.js';
import { ClusterGateway, type PortableGatewayOptions } from '../../gateway/cluster.js';
import { localControl, type GatewayControl } from '../../gateway/control.js';
import { checkListen, listenOn } from '../../gateway/listen.js';
import { createGateway } from '../../gateway/gateway.js';
import type { MirrorMode } from '../../gateway/mirror.js';
import { type Io, workerCount, fraction, hostPort, urlList, collect, millisAtMost, urlPath } from '../options.js';

export function registerGateway(program: Command, io: Io): void {
  program
    .command('gateway')
    .description('run the data plane: proxy to the live pool, mirror a sample to the shadow pool, admin API on its own port')
    .option('--config <file>', 'YAML configuration file: its `gateway` section, and the sampling of `--service` (flags win)')
    .option('--service <name>', "service whose shadow.sampling the gateway applies (default: gateway.service, else the first)")
    .option('--set <path=value>', 'set any configuration key, e.g. gateway.mirror.timeoutMs=500 (repeatable)', collect, [])
    .option('--listen <host:port>', 'address to serve traffic on (port 0: any free port; default 127.0.0.1:8080)', hostPort('--listen'))
    .option('--live <url,...>', 'live upstream base URLs, comma-separated (or gateway.live)', urlList('--live'))
    .option('--shadow <url,...>', 'shadow upstream base URLs, comma-separated', urlList('--shadow'))
    .option('--sample <fraction>', 'fraction of requests mirrored to the shadow (mutations always; default 0.1)', fraction)
    .addOption(new Option('--mode <mode>', 'what the shadow receives (default scrubbed)').choices(['full', 'scrubbed', 'metadata']))
    .option('--key <header|client-address>', 'consistent sampling key (default: random sampling)')
    .option('--admin <host:port>', 'address of the admin API (metrics, stats, runtime changes)', hostPort('--admin'))
    .option('--workers <n|auto>', 'worker processes sharing the port (auto: one per core; default 1)', workerCount)
    .option('--health-path <path>', 'active health check path on the live members (off when absent)', urlPath)
    .option('--health-interval-ms <ms>', 'active health check interval (default 5000; at most 3600000)', millisAtMost(3_600_000))
    .option('--timeout-ms <ms>', 'upstream response timeout (default 30000; at most 3600000)', millisAtMost(3_600_000))
    .option('--record <file>', 'with --mode metadata: append the sampled requests\' metadata to this JSON Lines file (input for replay)')
    .option('--json', 'print the listening addresses as one JSON line')
    .action(async (opts: Record<string, unknown>) => {
      const cfg = loadConfig({ file: opts.config as string | undefined, env: io.env, flags: {}, sets: opts.set as string[] });
      const gw = cfg.gateway;
      const sampling = serviceByName(cfg, (opts.service as string | undefined) ?? gw.service).shadow.sampling;
      const listen = (opts.listen as { host: string; port: number } | undefined) ?? hostPort('gateway.listen')(gw.listen);
      const live = (opts.live as string[] | undefined) ?? gw.live.map((u) => new URL(u).origin);
      if (live.length === 0) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--live: expected at least one live upstream URL (the flag, or gateway.live in --config)');
      const mode = (opts.mode as MirrorMode | undefined) ?? sampling.mode;
      const record = (opts.record as string | undefined) ?? gw.mirror.recordFile;
      if (record && mode !== 'metadata') throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--record: records are made in metadata mode; add --mode metadata');
      if (record) {
        try {
          closeSync(openSync(record, 'a'));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? '';
          throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--record ${record}: cannot append records to it (${code === 'EISDIR' ? 'a directory; name a file' : code || String(err)})`);
        }
      }
      const key = (opts.key as string | undefined) ?? sampling.key;
      const healthPath = (opts.healthPath as string | undefined) ?? gw.healthCheck?.path;
      const options: PortableGatewayOptions = {
        shadow: (opts.shadow as string[] | undefined) ?? gw.shadow.map((u) => new URL(u).origin),
        mirror: {
          rate: (opts.sample as number | undefined) ?? sampling.rate,
          mode,
          mirrorMutations: sampling.mirrorMutations,
          scrubHeaders: sampling.scrubHeaders,
          redactJsonFields: sampling.redactJsonFields,
          keepFields: sampling.keepFields,
          clientAddress: sampling.clientAddress,
          minRate: gw.mirror.minRate,
          maxRate: gw.mirror.maxRate,
          maxBodyBytes: gw.mirror.maxBodyBytes,
          queueLimit: gw.mirror.queueLimit,
          concurrency: gw.mirror.concurrency,
          timeoutMs: gw.mirror.timeoutMs,
          ...(key ? { key } : {}),
          ...(record ? { recordFile: record } : {}),
        },
        requestTimeoutMs: (opts.timeoutMs as number | undefined) ?? gw.timeoutMs,
        ejectAfterFailures: gw.ejectAfterFailures,
        ejectForMs: gw.ejectForMs,
        ...(gw.routes ? { routes: gw.routes } : {}),
        ...(healthPath ? { healthCheck: { path: healthPath, intervalMs: (opts.healthIntervalMs as number | undefined) ?? gw.healthCheck?.intervalMs ?? 5000, timeoutMs: gw.healthCheck?.timeoutMs ?? 2000 } } : {}),
      };
      const workers = (opts.workers as number | undefined) ?? gw.workers;
      let control: GatewayControl;
      let port: number;
      let close: () => Promise<void>;
      const listenWhat = opts.listen ? '--listen' : 'gateway.listen';
      if (workers > 1) {
        await checkListen(listen.host, listen.port, listenWhat);
        const c = await ClusterGateway.start({ workers, host: listen.host, port: listen.port, live, options, onWorkerExit: (w) => io.err(`shadowscale: gateway worker ${w.pid} exited (code ${w.code}, signal ${w.signal}); restarting it\n`) });
        control = c;
        port = c.address.port;
        close = () => c.close();
      } else {
        const g = createGateway({ ...options, live });
        port = (await g.listen(listen.port, listen.host, listenWhat)).port;
        control = localControl(g);
        close = () => g.close();
      }
      let admin: Server | undefined;
      let adminUrl: string | undefined;
      const adminAddr = (opts.admin as { host: string; port: number } | undefined) ?? (gw.admin ? hostPort('gateway.admin')(gw.admin) : undefined);
      if (adminAddr) {
        admin = createAdminServer(control);
        try {
          await listenOn(admin, adminAddr.port, adminAddr.host, opts.admin ? '--admin' : 'gateway.admin');
        } catch (err) {
          await close();
          throw err;
        }
        adminUrl = `http://${urlHost(adminAddr.host)}:${(admin.address() as AddressInfo).port}`;
      }
      const where = { listen: `http://${urlHost(listen.host)}:${port}`, admin: adminUrl ?? null, workers };
      io.out(opts.json ? `${JSON.stringify(where)}\n` : `gateway listening on ${where.listen} (${workers} worker${workers > 1 ? 's' : ''})${adminUrl ? `, admin on ${adminUrl}` : ''}\n`);
      // SIGUSR1 reopens the record file by its name, as nginx's logs: logrotate moves it away, then signals.
      const reopen = (): void => {
        control.reopenRecord().then(
          () => io.err(`shadowscale: --record ${record}: reopened\n`),
          (err: unknown) => io.err(`shadowscale: --record ${record}: cannot reopen it (${err instanceof Error ? err.message : String(err)}); the records go on to the file already open\n`),
        );
      };
      if (record) process.on('SIGUSR1', reopen);
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, stop);
      });
      process.off('SIGUSR1', reopen);
      admin?.closeAllConnections();
      await Promise.all([close(), new Promise<void>((resolve) => (admin ? admin.close(() => resolve()) : resolve()))]);
    });
  
}
