// A gateway cluster worker (forked by ClusterGateway): runs the data plane with the state it was
// started with and applies the primary's commands. It ignores terminal signals (the primary closes
// it, so in-flight requests finish) and exits when the primary goes away.

import { toWire, workerReport } from './control.js';
import { createGateway } from './gateway.js';
import { WORKER_ENV, type WorkerCommand, type WorkerInit, type WorkerReply, type WorkerRequest } from './cluster.js';

const raw = process.env[WORKER_ENV];
if (!raw || !process.send) {
  process.stderr.write(`shadowscale: cluster-worker is started by the gateway's primary process (${WORKER_ENV} is missing)\n`);
  process.exit(2);
}
const init = JSON.parse(raw) as WorkerInit;
const g = createGateway({ ...init.options, live: init.members });
g.mirror.setRate(init.rate);
g.mirror.setTargets(init.shadow);
g.mirror.setArms(init.arms ?? []);

let closing: Promise<void> | undefined;
const shutdown = (): Promise<void> => (closing ??= g.close().then(() => process.exit(0)));

const run = async (c: WorkerCommand): Promise<unknown> => {
  switch (c.op) {
    case 'report':
      return workerReport(g);
    case 'metadata':
      return g.mirror.metadata();
    case 'recent':
      return toWire(g.mirror.recent().requests);
    case 'add':
      g.addLive(c.member.url, c.member.weight, c.member.id);
      return true;
    case 'weight': {
      const m = g.members.find((x) => x.id === c.id);
      if (m) m.weight = c.weight;
      return Boolean(m);
    }
    case 'drain':
      if (c.wait) return g.removeLive(c.id);
      void g.removeLive(c.id);
      return true;
    case 'rate':
      return g.mirror.setRate(c.rate);
    case 'interval': {
      const m = g.mirror.snapshot();
      return { dump: g.metrics.takeInterval(), mirrorPending: m.queued + m.inFlight, liveMutationsOpen: g.metrics.liveMutationsOpen };
    }
    case 'shadow':
      g.mirror.setTargets(c.urls);
      return true;
    case 'warm':
      g.mirror.setWarmTargets(c.urls);
      return true;
    case 'arms':
      g.mirror.setArms(c.urls);
      return true;
    case 'syncBegin':
      return g.mirror.beginSync(c.url);
    case 'syncFinish':
      return g.mirror.finishSync(c.url, c.applied);
    case 'syncAbort':
      return g.mirror.abortSync(c.url);
    case 'reopenRecord':
      return g.mirror.reopenRecord();
    case 'close':
      setImmediate(() => void shutdown());
      return true;
  }
};

process.on('message', (msg: WorkerRequest) => {
  if (!msg || msg.type !== 'shadowscale-gateway') return;
  run(msg.command).then(
    (result) => process.send?.({ type: 'shadowscale-gateway', seq: msg.seq, ok: true, result } satisfies WorkerReply),
    (err: unknown) => process.send?.({ type: 'shadowscale-gateway', seq: msg.seq, ok: false, error: String(err) } satisfies WorkerReply),
  );
});
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
process.on('disconnect', () => void shutdown());

await g.listen(init.port, init.host);
