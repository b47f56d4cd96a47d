// harness.mjs: what the client/net browser test and the C<->Chromium
// benchmark share: a signaling server on 127.0.0.1 (enkrypt-broker or the
// reference peer@1.0.2), the page server, Debian's Chromium through
// playwright-core with a fresh profile, and enkrypt-netcat processes whose
// status lines (stderr) and output (stdout) can be awaited.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  })]).finally(() => clearTimeout(timer));
}

export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

function stopper(child) {
  return () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const kill = setTimeout(() => child.kill('SIGKILL'), 4000);
    child.on('exit', (code) => { clearTimeout(kill); resolve(code); });
    child.kill('SIGTERM');
  });
}

// kind 'broker': the enkrypt-broker binary; 'peerjs': peer@1.0.2.
export async function startSignaling(kind, brokerPath) {
  let child;
  if (kind === 'broker') {
    child = spawn(brokerPath, ['--host', '127.0.0.1', '--port', '0', '--log_level', 'warn'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
  } else {
    child = spawn(process.execPath, [path.join(here, 'peer_server.mjs'), '{}'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
  }
  const port = await withTimeout(new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d.toString();
      const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  }), 20000, `${kind} server start`);
  return { port, stop: stopper(child) };
}

// The page and the peerjs bundle from 127.0.0.1 (another origin than the
// broker, so GET /id goes through CORS as on a real site).
export function startPageServer() {
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
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}/`,
    stop: () => new Promise((r) => server.close(() => r())),
  })));
}

// Debian's Chromium with the flags of webrtc-transport.md §5 and a fresh
// profile. --disable-features=WebRtcHideLocalIpsWithMdns: real host
// addresses instead of .local names, which webrtcbin cannot resolve without
// avahi (it then waits ~10 s per name). --allow-loopback-in-peer-connection:
// Chromium may pair on 127.0.0.1 with our loopback-only C peer.
export async function launchChromium() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ek-net-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-features=WebRtcHideLocalIpsWithMdns', '--allow-loopback-in-peer-connection'],
  });
  return {
    browser,
    stop: async () => {
      await browser.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// An enkrypt-netcat child: lines of its stderr (status) and its stdout.
export function startNetcat(netcatPath, args) {
  const child = spawn(netcatPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const nc = { child, status: [], out: Buffer.alloc(0), waiters: [] };
  let errBuf = '';
  const wake = () => { for (const w of nc.waiters.splice(0)) w(); };
  child.stderr.on('data', (d) => {
    errBuf += d.toString();
    let i;
    while ((i = errBuf.indexOf('\n')) >= 0) {
      const line = errBuf.slice(0, i);
      errBuf = errBuf.slice(i + 1);
      nc.status.push(line);
      if (process.env.EK_NET_VERBOSE) console.log(`  [netcat] ${line}`);
    }
    wake();
  });
  child.stdout.on('data', (d) => { nc.out = Buffer.concat([nc.out, d]); wake(); });
  child.on('exit', () => wake());
  nc.until = (pred, ms, what) => withTimeout(new Promise((resolve) => {
    const check = () => {
      const v = pred(nc);
      if (v) resolve(v);
      else nc.waiters.push(check);
    };
    check();
  }), ms, what);
  nc.statusLine = (re, ms) => nc.until((n) => n.status.find((l) => re.test(l)), ms, `netcat ${re}`);
  nc.exited = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
  nc.stop = stopper(child);
  return nc;
}
