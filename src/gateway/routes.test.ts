// Unit tests (table): which service a request goes to when one front end serves several, and which
// routes the configuration must refuse because two services would take the same requests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RouteTable, routeOverlaps, type ServiceRoutes } from './routes.js';

const table: ServiceRoutes<string>[] = [
  { service: 'front', routes: [{ host: 'shop.example' }], target: 'front' },
  { service: 'api', routes: [{ pathPrefix: '/api' }], target: 'api' },
  { service: 'api-v2', routes: [{ pathPrefix: '/api/v2/' }], target: 'api-v2' },
  { service: 'shop-api', routes: [{ host: 'shop.example', pathPrefix: '/api' }], target: 'shop-api' },
  { service: 'rest', routes: [], target: 'rest' },
];

describe('RouteTable.match', () => {
  const rows: { note: string; host: string | undefined; path: string; want: string | undefined }[] = [
    { note: 'a Host route takes its Host', host: 'shop.example', path: '/cart', want: 'front' },
    { note: 'Host is case-insensitive and loses its port', host: 'SHOP.example:8080', path: '/', want: 'front' },
    { note: "the Host decides first: its routes beat any-Host ones, even with a longer prefix", host: 'shop.example', path: '/api/v2/x', want: 'shop-api' },
    { note: 'a longer any-Host prefix for another Host', host: 'other', path: '/api/v2/x', want: 'api-v2' },
    { note: 'Host and prefix beat the same prefix for any Host', host: 'shop.example', path: '/api/items', want: 'shop-api' },
    { note: "a Host's own routes before any-Host ones: its catch-all", host: 'shop.example', path: '/other', want: 'front' },
    { note: 'a prefix matches whole segments', host: 'other', path: '/api', want: 'api' },
    { note: 'a prefix with a query', host: 'other', path: '/api?x=1', want: 'api' },
    { note: 'not a segment boundary: "/apix" is not under "/api"', host: 'other', path: '/apix', want: 'rest' },
    { note: 'a trailing slash in the configured prefix is the same prefix', host: 'other', path: '/api/v2', want: 'api-v2' },
    { note: 'no Host field: any-Host routes only', host: undefined, path: '/cart', want: 'rest' },
    { note: 'an IPv6 literal Host keeps its brackets', host: '[::1]:8080', path: '/x', want: 'rest' },
  ];
  const t = new RouteTable(table);
  for (const r of rows) it(r.note, () => assert.equal(t.match(r.host, r.path)?.service, r.want));

  it('without a default service, an unrouted request matches nothing', () => {
    const only = new RouteTable(table.filter((s) => s.service !== 'rest'));
    assert.equal(only.match('other', '/cart'), undefined);
  });
});

describe('routeOverlaps', () => {
  const rows: { note: string; services: { service: string; routes: { host?: string; pathPrefix?: string }[] }[]; want: string[] }[] = [
    { note: 'distinct routes', services: [{ service: 'a', routes: [{ pathPrefix: '/a' }] }, { service: 'b', routes: [{ pathPrefix: '/b' }] }], want: [] },
    { note: 'nested prefixes are not an overlap (the longer wins)', services: [{ service: 'a', routes: [{ pathPrefix: '/a' }] }, { service: 'b', routes: [{ pathPrefix: '/a/b' }] }], want: [] },
    { note: 'the same prefix twice', services: [{ service: 'a', routes: [{ pathPrefix: '/a' }] }, { service: 'b', routes: [{ pathPrefix: '/a/' }] }], want: ['*/a a b'] },
    { note: 'the same Host in another case', services: [{ service: 'a', routes: [{ host: 'X.example' }] }, { service: 'b', routes: [{ host: 'x.example', pathPrefix: '/' }] }], want: ['x.example/ a b'] },
    { note: 'two services without routes both take everything', services: [{ service: 'a', routes: [] }, { service: 'b', routes: [] }], want: ['*/ a b'] },
    { note: 'a default service and a "/" route for any Host', services: [{ service: 'a', routes: [] }, { service: 'b', routes: [{ pathPrefix: '/' }] }], want: ['*/ a b'] },
  ];
  for (const r of rows) it(r.note, () => assert.deepEqual(routeOverlaps(r.services).map((o) => `${o.match} ${o.first.service} ${o.second.service}`), r.want));

  it('a table with an overlap is refused', () => assert.throws(() => new RouteTable([{ service: 'a', routes: [], target: 1 }, { service: 'b', routes: [], target: 2 }]), /routes overlap: \*\/ is routed to both "a" and "b"/));
});
