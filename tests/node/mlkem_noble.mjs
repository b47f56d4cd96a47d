// mlkem_noble.mjs: differential test of our ML-KEM-768 against
// @noble/post-quantum (ctest interop.mlkem.noble).
//
//   node mlkem_noble.mjs TOOL [CASES]
//
// TOOL is tests/crypto/mlkem/tool_mlkem_interop (our C, as a filter). For
// each case, d, z, m and a byte position come from a fixed SHAKE256 stream,
// so a failure reproduces. Checked, in both directions:
//   - KeyGen_internal(d, z) and Encaps_internal(ek, m): ek, dk, ct and the
//     shared secret are byte-identical;
//   - noble decapsulates our ct with our dk, and we decapsulate noble's ct
//     with noble's dk: both give the shared secret;
//   - a ct with one byte changed: noble's and our Decaps agree on the
//     implicit-rejection key (and it differs from the real one).
// noble's keygen(seed) takes seed = d || z and encapsulate(ek, msg) takes
// msg = m, its deterministic entry points (see its README).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';

const [tool, casesArg] = process.argv.slice(2);
if (!tool) {
  console.error('usage: node mlkem_noble.mjs TOOL [CASES]');
  process.exit(2);
}
const cases = Number(casesArg ?? 1000);

const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const eq = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

function caseInputs(i) {
  const label = Buffer.from('enkrypt ML-KEM-768 noble differential ');
  const ctr = Buffer.alloc(4);
  ctr.writeUInt32BE(i);
  const out = createHash('shake256', { outputLength: 99 }).update(label).update(ctr).digest();
  return {
    d: new Uint8Array(out.subarray(0, 32)),
    z: new Uint8Array(out.subarray(32, 64)),
    m: new Uint8Array(out.subarray(64, 96)),
    pos: out.readUInt16BE(96) % 1088,
    flip: out[98] | 1, // never zero: the ciphertext really changes
  };
}

function runTool(lines) {
  const r = spawnSync(tool, [], { input: lines.join('\n') + '\n', maxBuffer: 1 << 30 });
  if (r.status !== 0 || r.error) {
    console.error('tool failed:', r.error ?? r.stderr.toString());
    process.exit(1);
  }
  const out = r.stdout.toString().trimEnd().split('\n');
  if (out.length !== lines.length) {
    console.error(`tool answered ${out.length} lines for ${lines.length}`);
    process.exit(1);
  }
  return out;
}

const t0 = Date.now();
const inputs = [];
const noble = [];
for (let i = 0; i < cases; i++) {
  const c = caseInputs(i);
  const seed = new Uint8Array(64);
  seed.set(c.d, 0);
  seed.set(c.z, 32);
  const { publicKey, secretKey } = ml_kem768.keygen(seed);
  const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, c.m);
  const bad = Uint8Array.from(cipherText);
  bad[c.pos] ^= c.flip;
  inputs.push(c);
  noble.push({ ek: publicKey, dk: secretKey, ct: cipherText, ss: sharedSecret, bad });
}

// Ours from the same inputs.
const gen = runTool(inputs.map((c) => `gen ${hex(c.d)} ${hex(c.z)} ${hex(c.m)}`));
const ours = gen.map((l) => {
  const [ek, dk, ct, ss] = l.split(' ');
  return { ek: unhex(ek), dk: unhex(dk ?? ''), ct: unhex(ct ?? ''), ss: unhex(ss ?? '') };
});
// Our Decaps of noble's ciphertexts (valid and modified) with noble's dk.
const dec = runTool(
  noble.flatMap((n) => [`dec ${hex(n.dk)} ${hex(n.ct)}`, `dec ${hex(n.dk)} ${hex(n.bad)}`]),
);

let passed = 0;
let failed = 0;
for (let i = 0; i < cases; i++) {
  const n = noble[i];
  const o = ours[i];
  const problems = [];
  if (!eq(o.ek, n.ek)) problems.push('ek differs');
  if (!eq(o.dk, n.dk)) problems.push('dk differs');
  if (!eq(o.ct, n.ct)) problems.push('ct differs');
  if (!eq(o.ss, n.ss)) problems.push('shared secret differs');
  // noble decapsulates ours (copies: noble may wipe what it is given).
  if (o.ct.length === 1088 && o.dk.length === 2400) {
    const ssNoble = ml_kem768.decapsulate(Uint8Array.from(o.ct), Uint8Array.from(o.dk));
    if (!eq(ssNoble, o.ss)) problems.push('noble Decaps(our ct) differs');
    const badOurs = Uint8Array.from(o.ct);
    badOurs[inputs[i].pos] ^= inputs[i].flip;
    const rejNoble = ml_kem768.decapsulate(badOurs, Uint8Array.from(o.dk));
    if (eq(rejNoble, o.ss)) problems.push('noble accepted a modified ct');
    if (!eq(unhex(dec[2 * i + 1]), rejNoble)) problems.push('implicit rejection differs');
  } else {
    problems.push(`tool: ${gen[i].slice(0, 40)}`);
  }
  // ours decapsulates noble's.
  if (!eq(unhex(dec[2 * i]), n.ss)) problems.push('our Decaps(noble ct) differs');
  if (problems.length === 0) {
    passed++;
  } else {
    failed++;
    if (failed <= 10) console.error(`case ${i}: ${problems.join(', ')}`);
  }
}
const secs = ((Date.now() - t0) / 1000).toFixed(1);
console.log(`interop.mlkem.noble: ${cases} cases against @noble/post-quantum, ${secs} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed === cases && cases > 0 ? 0 : 1);
