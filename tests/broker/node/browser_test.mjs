// browser_test.mjs: the broker conformance test with the real client.
// Two pages in Debian's Chromium (driven by playwright-core) load the npm
// `peerjs` bundle, register with the signaling server under test, open
// DataConnections to each other with `json` and default (`binary`)
// serialization and exchange messages both ways; a third step checks
// EXPIRE (peer-unavailable) for an ID nobody holds.
//
//   node browser_test.mjs --server ours --broker build/broker/enkrypt-broker
//   node browser_test.mjs --server reference
//
// Everything listens on 127.0.0.1; the run is bounded (90 s) and cleans up.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { startServer } from './servers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const kind = args.server || 'ours';
const OVERALL_MS = 90000;

let failures = 0;
let checks = 0;
function check(ok, what) {
  checks++;
  if (!ok) { failures++; console.error(`FAIL: ${what}`); } else console.log(`ok: ${what}`);
}
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  })]).finally(() => clearTimeout(timer));
}

// The page and the peerjs bundle, from 127.0.0.1 (another origin than the
// broker's, so /id goes through CORS as it does on a real site).
function startPageServer() {
  const bundle = fs.readFileSync(path.join(path.dirname(require.resolve('peerjs')), 'peerjs.min.js'));
  const page = fs.readFileSync(path.join(here, 'page.html'));
  const server = http.createServer((req, res) => {
    if (req.url === '/peerjs.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(bundle);
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else if (req.url === '/' || req.url.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function waitFor(page, fn, arg, what) {
  await withTimeout(page.waitForFunction(fn, arg, { polling: 50, timeout: 20000 }), 21000, what);
}

async function run(resources) {
  const sig = await startServer(kind, { broker: args.broker, flags: { expire_timeout: 1500 } });
  resources.sig = sig;
  const pages = await startPageServer();
  resources.pages = pages;
  const pageUrl = `http://127.0.0.1:${pages.address().port}/`;

  resources.profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ek-broker-chromium-'));
  const browser = await chromium.launchPersistentContext(resources.profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // Real host candidates instead of unresolvable .local names (see
      // ../shared/research/webrtc-transport.md, Chromium).
      '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
  resources.browser = browser;
  const a = await browser.newPage();
  const b = await browser.newPage();
  for (const [name, p] of [['A', a], ['B', b]])
    p.on('console', (m) => { if (m.type() === 'error') console.error(`[page ${name}] ${m.text()}`); });
  await a.goto(pageUrl);
  await b.goto(pageUrl);

  const idA = 'alice-' + Math.random().toString(36).slice(2, 8);
  const gotA = await withTimeout(a.evaluate((o) => window.t.start(o), { port: sig.port, id: idA }), 20000, 'A open');
  check(gotA === idA, `A registered as ${idA} and got OPEN`);
  const idB = await withTimeout(b.evaluate((o) => window.t.start(o), { port: sig.port, id: '' }), 20000, 'B open');
  check(/^[0-9a-f-]{36}$/.test(idB), `B got a server-assigned ID (${idB}) through GET /id`);

  // json: B connects to A; both directions.
  const ser1 = await withTimeout(b.evaluate(([dst]) => window.t.connect(dst, 'c-json', 'json'), [idA]), 30000, 'json connection');
  check(ser1 === 'json', 'DataConnection with json serialization opened');
  await waitFor(a, () => !!window.t.conns['c-json'] && window.t.conns['c-json'].open, null, 'A sees c-json');
  await b.evaluate(() => window.t.send('c-json', { hello: 'from B', n: 42, nested: [1, 'two', { three: 3 }] }));
  await waitFor(a, () => window.t.received.some((r) => r.label === 'c-json'), null, 'A receives json');
  const recvA = await a.evaluate(() => window.t.received.filter((r) => r.label === 'c-json'));
  check(JSON.stringify(recvA[0].data) === JSON.stringify({ hello: 'from B', n: 42, nested: [1, 'two', { three: 3 }] }),
    'json message B -> A arrived intact');
  await b.evaluate(() => window.t.send('c-json', { echo: 'ping-json' }));
  await waitFor(b, () => window.t.received.some((r) => r.data && r.data.reply === 'ping-json'), null, 'B receives json echo');
  check(true, 'json message A -> B (echo) arrived');

  // default serialization (binary / BinaryPack), A connects to B this time;
  // bytes, strings and a message large enough to be chunked.
  const ser2 = await withTimeout(a.evaluate(([dst]) => window.t.connect(dst, 'c-bin'), [idB]), 30000, 'binary connection');
  check(ser2 === 'binary', 'DataConnection with default (binary) serialization opened');
  await waitFor(b, () => !!window.t.conns['c-bin'] && window.t.conns['c-bin'].open, null, 'B sees c-bin');
  await a.evaluate(() => window.t.send('c-bin', { bytes: [0, 1, 2, 250, 255] }));
  await a.evaluate(() => window.t.send('c-bin', 'text over binarypack'));
  await waitFor(b, () => window.t.received.filter((r) => r.label === 'c-bin').length >= 2, null, 'B receives binary');
  const recvB = await b.evaluate(() => window.t.received.filter((r) => r.label === 'c-bin'));
  check(JSON.stringify(recvB[0].data) === JSON.stringify({ bytes: [0, 1, 2, 250, 255] }), 'bytes A -> B arrived intact');
  check(recvB[1].data === 'text over binarypack', 'string A -> B arrived intact');
  await a.evaluate(() => window.t.send('c-bin', { echo: 'ping-bin', big: 40000 }));
  await waitFor(a, () => window.t.received.some((r) => r.data && r.data.reply === 'ping-bin'), null, 'A receives binary echo');
  const big = await a.evaluate(() => window.t.received.find((r) => r.data && r.data.reply === 'ping-bin').data.big.length);
  check(big === 40000, 'chunked 40 kB binary message B -> A arrived whole');

  // An OFFER to nobody: queued, then EXPIRE -> peer-unavailable.
  const t0 = Date.now();
  const err = await withTimeout(a.evaluate(() => window.t.connectNobody('nobody-' + Math.random().toString(36).slice(2, 8))), 20000, 'peer-unavailable');
  check(err === 'peer-unavailable', `EXPIRE reported as peer-unavailable after ${Date.now() - t0} ms`);
}

async function main() {
  const resources = {};
  let error = null;
  try {
    await withTimeout(run(resources), OVERALL_MS, 'the whole test');
  } catch (e) {
    error = e;
  }
  if (resources.browser) await resources.browser.close().catch(() => {});
  if (resources.pages) resources.pages.close();
  if (resources.sig) await resources.sig.stop();
  if (resources.profile) fs.rmSync(resources.profile, { recursive: true, force: true });
  const passed = checks - failures;
  if (error) {
    failures++;
    console.error(`FAIL: ${error.message}`);
  }
  console.log(`browser-peerjs-${kind}: ${passed} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}
main();
