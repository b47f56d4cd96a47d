// servers.mjs: start a PeerJS signaling server on 127.0.0.1 for the broker's
// browser test and load benchmark: ours (the enkrypt-broker binary) or the
// reference (npm `peer@1.0.2`, in its own node process via ref_server.mjs).
// Each resolves to {port, pid, stop()} once the server says it listens.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));

function waitForPort(child, what, timeoutMs) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start in ${timeoutMs} ms`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d.toString();
      const m = out.match(/listening on https?:\/\/[^:\s]+:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before listening`));
    });
  });
}

function stopper(child) {
  return () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('exit', (code) => { clearTimeout(kill); resolve(code); });
    child.kill('SIGTERM');
  });
}

// flags: an object of peerjs-style options ({expire_timeout: 1000, ...}).
export async function startServer(kind, { broker, flags = {}, stderr = 'inherit' } = {}) {
  let child;
  if (kind === 'ours') {
    if (!broker) throw new Error('--broker <path to enkrypt-broker> is needed for ours');
    const args = ['--host', '127.0.0.1', '--port', '0', '--log_level', 'warn'];
    for (const [k, v] of Object.entries(flags)) args.push(`--${k}`, String(v));
    child = spawn(broker, args, { stdio: ['ignore', 'pipe', stderr] });
  } else if (kind === 'reference') {
    child = spawn(process.execPath, [path.join(here, 'ref_server.mjs'), JSON.stringify(flags)],
      { stdio: ['ignore', 'pipe', stderr] });
  } else {
    throw new Error(`unknown server ${kind}`);
  }
  // If this process ends in any way, the server goes with it.
  process.on('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const port = await waitForPort(child, kind, 15000);
  return { port, pid: child.pid, child, stop: stopper(child) };
}
