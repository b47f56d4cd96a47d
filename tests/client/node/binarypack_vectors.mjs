// binarypack_vectors.mjs: the differential test of our BinaryPack
// (client/net/binarypack.c) against the real JavaScript one
// (peerjs-js-binarypack, what PeerJS's default `binary` serialization uses).
//   node binarypack_vectors.mjs gen [count] [seed]
//       prints one JSON line per value: {"json": v, "hex": pack(v)} and for
//       byte strings {"bytes": hex, "hex": pack(Uint8Array)}
//   node binarypack_vectors.mjs check
//       reads {"json": v, "hex": h} lines (packed by our C code) from stdin,
//       unpacks each with the JavaScript decoder, compares it with what
//       JavaScript decodes from its own packing of the value, and prints "checked N,
//       failed M" (and each failure).
import { pack, unpack } from 'peerjs-js-binarypack';
import readline from 'node:readline';

const hex = (buf) => Buffer.from(buf).toString('hex');
let seed = 0x2545f491;
function rnd() {
  // xorshift32: deterministic vectors from a seed
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed;
}
const edges = [0, 1, 127, 128, -1, -32, -33, -128, -129, 255, 256, 65535, 65536, -32768, -32769,
  4294967295, 4294967296, -2147483648, -2147483649, 2 ** 40, -(2 ** 40), 9007199254740991];

function value(depth) {
  switch (rnd() % (depth > 3 ? 5 : 7)) {
    case 0: return null;
    case 1: return (rnd() & 1) === 1;
    case 2: return rnd() & 1 ? edges[rnd() % edges.length] : ((rnd() | 0) >> (rnd() % 31));
    case 3: return ((rnd() | 0) % 100000) / 8 + 0.125; // exactly representable, never integral
    case 4: {
      const n = rnd() % 40;
      let s = '';
      const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '\u00e9', '\u4e2d', '\u{1f600}', '\n'];
      for (let i = 0; i < n; i++) s += alphabet[rnd() % alphabet.length];
      return s;
    }
    case 5: {
      const n = rnd() % 20;
      const a = [];
      for (let i = 0; i < n; i++) a.push(value(depth + 1));
      return a;
    }
    default: {
      const n = rnd() % 18;
      const o = {};
      for (let i = 0; i < n; i++) o['k' + (rnd() % 1000)] = value(depth + 1);
      return o;
    }
  }
}

const mode = process.argv[2];
if (mode === 'gen') {
  const count = Number(process.argv[3] || 500);
  if (process.argv[4]) seed = Number(process.argv[4]) >>> 0 || 1;
  const lines = [];
  for (let i = 0; i < count; i++) {
    const v = value(0);
    lines.push(JSON.stringify({ json: v, hex: hex(pack(v)) }));
  }
  for (const n of [0, 1, 15, 16, 300, 65535, 65536, 70000]) {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 13 + 1) & 0xff;
    lines.push(JSON.stringify({ bytes: hex(b), hex: hex(pack(b)) }));
  }
  process.stdout.write(lines.join('\n') + '\n');
} else if (mode === 'check') {
  const rl = readline.createInterface({ input: process.stdin });
  let checked = 0, failed = 0;
  const canon = (x) => JSON.stringify(x, (k, v) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
  rl.on('line', (line) => {
    if (!line.trim()) return;
    const { json, hex: h } = JSON.parse(line);
    checked++;
    // Compared with what JavaScript makes of its own packing of the same
    // value: its int64 decoding rounds (2**64 - n is not a double), so a
    // value like -2147483649 does not survive even its own round trip.
    const got = unpack(new Uint8Array(Buffer.from(h, 'hex')).buffer);
    const own = unpack(pack(json));
    if (canon(got) !== canon(own)) {
      failed++;
      console.log(`FAIL: ${h} unpacked to ${canon(got)}, wanted ${canon(own)}`);
    }
  });
  rl.on('close', () => console.log(`checked ${checked}, failed ${failed}`));
} else {
  console.error('usage: node binarypack_vectors.mjs gen [count] [seed] | check');
  process.exit(64);
}
