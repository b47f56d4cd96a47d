// chromium_test.mjs: the native client against the real `peerjs` client in
// Debian's Chromium, through a signaling server on 127.0.0.1, both ways,
// with PeerJS's `json` and default `binary` (BinaryPack) serializations.
//
//   node chromium_test.mjs --server broker|peerjs --broker PATH --netcat PATH
// (EK_NET_VERBOSE=1 shows enkrypt-netcat's status lines, EK_NET_PAGE_DEBUG=1 PeerJS's log.)
//
// 1. browser -> C: the page connects to an enkrypt-netcat --listen --echo
//    with json, binary (unordered, PeerJS's default) and raw; values,
//    strings and a 40000-byte array (chunked at 16300 on binary) go out and
//    must come back.
//    The page's conn.close() (a pc.close()) must reach the C peer as
//    "the peer closed the connection".
// 2. C -> browser: enkrypt-netcat connects to the page, which echoes: JSON
//    values (json), strings and 200 KB of bytes (binary). The page must see
//    the connection's serialization, label and metadata as sent.
// Everything listens on 127.0.0.1; the run is bounded (80 s) and cleans up.
import crypto from 'node:crypto';
import { parseArgs, withTimeout, startSignaling, startPageServer, launchChromium, startNetcat }
  from './harness.mjs';

const args = parseArgs(process.argv.slice(2));
const kind = args.server || 'peerjs';
const OVERALL_MS = 80000;

let checks = 0;
let failures = 0;
function check(ok, what) {
  checks++;
  if (!ok) { failures++; console.error(`FAIL: ${what}`); } else console.log(`ok: ${what}`);
}

async function waitFor(page, fn, arg, what, ms = 15000) {
  await withTimeout(page.waitForFunction(fn, arg, { polling: 50, timeout: ms }), ms + 1000, what);
}

const rand = () => crypto.randomBytes(4).toString('hex');

async function browserToC(r, page, webId, url) {
  const cId = `c-listen-${rand()}`;
  const nc = startNetcat(args.netcat, ['--broker', url, '--id', cId, '--listen', '--echo',
    '--local-ip', '127.0.0.1']);
  r.procs.push(nc);
  await nc.statusLine(/^READY id=/, 15000);

  for (const ser of ['json', 'binary', 'raw']) {
    const reliable = ser !== 'binary'; // binary: PeerJS's default reliable:false (unordered)
    const t0 = Date.now();
    const cid = await withTimeout(page.evaluate(([d, s, rel]) => window.t.connect(d, s, rel),
      [cId, ser, reliable]), 25000, `${ser} connection to C`);
    check(true, `browser -> C: ${ser} connection open in ${Date.now() - t0} ms`);
    const inc = await nc.statusLine(new RegExp(`^INCOMING peer=${webId} conn=${cid}`), 5000);
    check(inc.includes(`serialization=${ser}`) && inc.includes(`reliable=${reliable ? 1 : 0}`) &&
      inc.includes('metadata={"from":"browser","n":7}'), `C saw the offer as sent: ${inc}`);
    const open = await nc.statusLine(new RegExp(`^OPEN peer=${webId} conn=${cid}`), 10000);
    check(open.endsWith('ping=0'), 'no liveness pings towards a browser peer');

    const value = { hello: `from the browser (${ser})`, n: 42, nested: [1, 'two', { three: 3 }], ok: true };
    // raw hands objects to RTCDataChannel.send as they are: no structured values.
    if (ser !== 'raw') await page.evaluate(([c, v]) => window.t.send(c, v), [cid, value]);
    await page.evaluate(([c]) => window.t.send(c, 'a plain string, é 中 😀'), [cid]);
    // PeerJS's json refuses messages of 16300 bytes or more on its own side.
    if (ser !== 'json') await page.evaluate(([c]) => window.t.sendBytes(c, 40000, 5), [cid]);
    await page.evaluate(([c]) => window.t.sendBytes(c, 100, 9), [cid]);
    const want = ser === 'json' ? 3 : ser === 'binary' ? 4 : 3;
    await waitFor(page, ([c, w]) => window.t.got(c).length >= w, [cid, want], `${ser} echoes`);
    const got = await page.evaluate((c) => window.t.got(c), cid);
    // Unordered binary channels may reorder; look each reply up.
    const values = got.filter((g) => 'value' in g).map((g) => JSON.stringify(g.value));
    const bytes = got.filter((g) => 'bytes' in g);
    if (process.env.EK_NET_VERBOSE) console.log(`  echoes: ${JSON.stringify(got).slice(0, 400)}`);
    if (ser !== 'raw') check(values.includes(JSON.stringify(value)), `${ser}: an object went to C and came back intact`);
    check(values.includes(JSON.stringify('a plain string, é 中 😀')), `${ser}: a string came back intact`);
    const sumOf = (n, seed) => { let s = 0; for (let i = 0; i < n; i++) s = (s * 31 + ((i * 31 + seed) & 0xff)) >>> 0; return s; };
    if (ser === 'binary') {
      check(bytes.some((b) => b.bytes === 40000 && b.sum === sumOf(40000, 5)),
        'binary: 40000 bytes (three 16300-byte chunks each way) came back intact');
      check(bytes.some((b) => b.bytes === 100 && b.sum === sumOf(100, 9)), 'binary: 100 bytes came back intact');
    } else if (ser === 'raw') {
      check(bytes.some((b) => b.bytes === 40000 && b.sum === sumOf(40000, 5)) &&
        bytes.some((b) => b.bytes === 100 && b.sum === sumOf(100, 9)),
      'raw: 40000 and 100 bytes came back intact as single messages');
    } else {
      // JSON.stringify(Uint8Array) is an object of indices; PeerJS json does
      // the same, and so it must come back.
      check(values.some((v) => v.startsWith('{"0":9,"1":40,')), 'json: a typed array came back as JSON.stringify made it');
    }
    const p = await page.evaluate((c) => window.t.path(c), cid);
    if (p) console.log(`  ICE path (Chromium's view): local ${p.local} <-> remote ${p.remote}`);
    if (p && ser === 'json') r.path = p;

    // conn.close() is pc.close() in PeerJS: no data-channel close reaches
    // webrtcbin, only the DTLS transport closing (webrtc-transport.md §6).
    const tc = Date.now();
    await page.evaluate((c) => window.t.close(c), cid);
    const closed = await nc.statusLine(new RegExp(`^CLOSED peer=${webId} err=`), 10000);
    check(closed.includes('err=-1007'), `the browser's close reached C in ${Date.now() - tc} ms: ${closed}`);
  }
  // SIGTERM: it closes its connections and exits 0 (under ASan: no leak).
  const code = await nc.stop();
  check(code === 0, `the listening C peer quit cleanly on SIGTERM (exit ${code})`);
}

async function cToBrowser(r, page, webId, url) {
  // json: values
  {
    const nc = startNetcat(args.netcat, ['--broker', url, '--local-ip', '127.0.0.1',
      '--serialization', 'json', '--json-lines', '--metadata', '{"from":"C","n":1}', webId]);
    r.procs.push(nc);
    const open = await nc.statusLine(/^OPEN peer=/, 25000);
    check(/serialization=json ping=0$/.test(open), `C -> browser: json connection open: ${open}`);
    // No null: PeerJS's json receiver reads null["__peerData"] and throws.
    const values = [{ hello: 'from C', n: 1 }, [1, 2, 3, 'four'], 'just a string', 12.5, { deep: { a: [true, false] } }];
    for (const v of values) nc.child.stdin.write(JSON.stringify(v) + '\n');
    await nc.until((n) => n.out.toString().split('\n').length > values.length, 10000, 'json echoes')
      .catch((e) => { console.error(`  netcat output so far: ${JSON.stringify(nc.out.toString())}`); throw e; });
    const lines = nc.out.toString().trim().split('\n').map((l) => JSON.parse(l));
    check(JSON.stringify(lines) === JSON.stringify(values), 'json: every value came back from the browser in order');
    const inc = await page.evaluate(() => window.t.incoming.at(-1));
    check(inc && inc.serialization === 'json' && inc.reliable === true && inc.label === inc.cid &&
      JSON.stringify(inc.metadata) === '{"from":"C","n":1}',
    `the browser saw our offer as sent: ${JSON.stringify(inc)}`);
    nc.child.stdin.end();
    const code = await withTimeout(nc.exited(), 10000, 'netcat exit');
    check(code === 0, `json: C closed cleanly (exit ${code}; ${nc.status.filter((l) => /^(CLOSED|BROKER)/.test(l)).join(' | ')})`);
    await waitFor(page, (c) => window.t.closed.includes(c), inc.cid, 'browser sees the close');
    check(true, 'json: the browser saw the connection close');
  }
  // binary: strings, then bytes
  {
    const nc = startNetcat(args.netcat, ['--broker', url, '--local-ip', '127.0.0.1',
      '--serialization', 'binary', '--text', webId]);
    r.procs.push(nc);
    await nc.statusLine(/^OPEN peer=.*serialization=binary/, 25000);
    const texts = ['hello over BinaryPack', 'é 中 😀', 'x'.repeat(20000)];
    for (const t of texts) nc.child.stdin.write(t + '\n');
    await nc.until((n) => n.out.toString().split('\n').length > texts.length, 10000, 'binary text echoes');
    const lines = nc.out.toString().split('\n').slice(0, texts.length);
    check(JSON.stringify(lines) === JSON.stringify(texts),
      'binary: strings (one of 20000 bytes, chunked) came back from the browser');
    nc.child.stdin.end();
    const code = await withTimeout(nc.exited(), 10000, 'netcat exit');
    check(code === 0, `binary text: C closed cleanly (exit ${code}; ${nc.status.filter((l) => /^(CLOSED|BROKER)/.test(l)).join(' | ')})`);
  }
  {
    const nc = startNetcat(args.netcat, ['--broker', url, '--local-ip', '127.0.0.1',
      '--serialization', 'binary', webId]);
    r.procs.push(nc);
    await nc.statusLine(/^OPEN peer=.*serialization=binary/, 25000);
    const blob = crypto.randomBytes(200000);
    nc.child.stdin.write(blob);
    await nc.until((n) => n.out.length >= blob.length, 15000, 'binary bytes echo');
    check(Buffer.compare(nc.out.subarray(0, blob.length), blob) === 0,
      'binary: 200000 bytes went to the browser as ArrayBuffers and came back intact, in order');
    nc.child.stdin.end();
    const code = await withTimeout(nc.exited(), 10000, 'netcat exit');
    check(code === 0, `binary bytes: C closed cleanly (exit ${code}; ${nc.status.filter((l) => /^(CLOSED|BROKER)/.test(l)).join(' | ')})`);
  }
}

async function run(r) {
  r.sig = await startSignaling(kind, args.broker);
  const url = `ws://127.0.0.1:${r.sig.port}/`;
  r.pages = await startPageServer();
  r.chromium = await launchChromium();
  const page = await r.chromium.browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || process.env.EK_NET_PAGE_DEBUG) console.error(`[page] ${m.text()}`);
  });
  await page.goto(r.pages.url);
  const webId = `web-${rand()}`;
  const got = await withTimeout(page.evaluate((o) => window.t.start(o),
    { port: r.sig.port, id: webId, debug: process.env.EK_NET_PAGE_DEBUG ? 3 : 1 }),
    15000, 'browser registers');
  check(got === webId, `the browser registered as ${webId}`);

  await browserToC(r, page, webId, url);
  await cToBrowser(r, page, webId, url);
  const errors = await page.evaluate(() => window.t.errors);
  check(errors.length === 0, `no PeerJS errors in the page (${errors.join(', ')})`);
  if (r.path) check(/^127\.0\.0\.1:/.test(r.path.remote), `Chromium's selected pair reaches the C peer at 127.0.0.1 (${r.path.remote})`);
}

async function main() {
  const r = { procs: [] };
  let error = null;
  try {
    await withTimeout(run(r), OVERALL_MS, 'the whole test');
  } catch (e) {
    error = e;
  }
  for (const p of r.procs) await p.stop();
  if (r.chromium) await r.chromium.stop();
  if (r.pages) await r.pages.stop();
  if (r.sig) await r.sig.stop();
  if (error) {
    failures++;
    console.error(`FAIL: ${error.message}`);
  }
  console.log(`chromium-${kind}: ${checks - failures} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}
main();
