// mls_interop.mjs: interop between our MLS (lib/mls, through the C driver
// tests/interop/mls-driver) and ts-mls, the independent TypeScript
// implementation the original Enkrypted Chat uses. Cipher suite 1.
//
//   node mls_interop.mjs PATH_TO_DRIVER
//
// Scenario 1, ts-mls creates: ts-mls "tA" creates the group and adds our
// "eA" (from our KeyPackage) and a second ts-mls member "tB"; we join from
// the Welcome. Scenario 2, we create: our "eX" creates the group and adds
// ts-mls "tX" and our "eY"; ts-mls joins from our Welcome. In both,
// application messages flow both ways, each side commits an update (a
// commit with an UpdatePath, which must change the committer's leaf and so
// the tree hash), and each scenario removes a member of the other side.
// Proposals cross too: in scenario 1 our Update proposal is committed by
// ts-mls (by reference); in scenario 2 ts-mls proposes adding a second
// ts-mls member "tZ", we commit it and tZ joins from our Welcome. At every
// epoch every member's epoch, epoch authenticator, tree hash and an
// exporter secret must agree.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

import {
  createApplicationMessage,
  createCommit,
  createProposal,
  createGroup,
  decodeMlsMessage,
  defaultCapabilities,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  mlsExporter,
  processPrivateMessage,
} from "ts-mls";

const driverPath = process.argv[2];
if (!driverPath) {
  console.error("usage: node mls_interop.mjs DRIVER");
  process.exit(2);
}

const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
const text = (s) => new TextEncoder().encode(s);
let checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) throw new Error("check failed: " + what);
}

// ---- the C driver, one request line and one reply line at a time ----
const driver = spawn(driverPath, [], { stdio: ["pipe", "pipe", "inherit"] });
const replies = createInterface({ input: driver.stdout });
const waiting = [];
replies.on("line", (line) => waiting.shift()(line));
function ours(...args) {
  return new Promise((resolve, reject) => {
    waiting.push((line) => {
      const parts = line.split(" ");
      if (parts[0] !== "ok") reject(new Error(`driver: ${args[0]} ${args[1]}: ${line}`));
      else resolve(parts.slice(1));
    });
    driver.stdin.write(args.join(" ") + "\n");
  });
}

// ---- ts-mls members ----
const impl = await getCiphersuiteImpl(
  getCiphersuiteFromName("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"),
);
const now = BigInt(Math.floor(Date.now() / 1000));
// A realistic lifetime (our default accepts at most 400 days).
const lifetime = { notBefore: now - 60n, notAfter: now + 30n * 86400n };

async function tsMember(name) {
  const cred = { credentialType: "basic", identity: text(name) };
  const kp = await generateKeyPackage(cred, defaultCapabilities(), lifetime, [], impl);
  return { name, kp, state: undefined };
}

function kpMessage(m) {
  return encodeMlsMessage({ keyPackage: m.kp.publicPackage, wireformat: "mls_key_package", version: "mls10" });
}

function decodeKeyPackage(hexKp) {
  const m = decodeMlsMessage(unhex(hexKp), 0)[0];
  if (m.wireformat !== "mls_key_package") throw new Error("not a key package");
  return m.keyPackage;
}

async function tsCommit(m, proposals) {
  const r = await createCommit(
    { state: m.state, cipherSuite: impl },
    { extraProposals: proposals, ratchetTreeExtension: true },
  );
  m.state = r.newState;
  return {
    commit: hex(encodeMlsMessage(r.commit)),
    welcome: r.welcome ? hex(encodeMlsMessage({ welcome: r.welcome, wireformat: "mls_welcome", version: "mls10" })) : null,
  };
}

async function tsJoin(m, welcomeHex) {
  const w = decodeMlsMessage(unhex(welcomeHex), 0)[0];
  if (w.wireformat !== "mls_welcome") throw new Error("not a welcome");
  m.state = await joinGroup(w.welcome, m.kp.publicPackage, m.kp.privatePackage, emptyPskIndex, impl);
}

async function tsProcess(m, msgHex) {
  const msg = decodeMlsMessage(unhex(msgHex), 0)[0];
  if (msg.wireformat !== "mls_private_message") throw new Error("expected a PrivateMessage, got " + msg.wireformat);
  const r = await processPrivateMessage(m.state, msg.privateMessage, emptyPskIndex, impl);
  m.state = r.newState;
  return r;
}

async function tsPropose(m, proposal) {
  const r = await createProposal(m.state, false, proposal, impl);
  m.state = r.newState;
  return hex(encodeMlsMessage(r.message));
}

async function tsProtect(m, s) {
  const r = await createApplicationMessage(m.state, text(s), impl);
  m.state = r.newState;
  return hex(encodeMlsMessage({ privateMessage: r.privateMessage, wireformat: "mls_private_message", version: "mls10" }));
}

// Every member's epoch, epoch authenticator, tree hash and an exporter
// secret agree; returns the tree hash.
async function agree(tsMembers, ourNames, what) {
  const want = hex(tsMembers[0].state.keySchedule.epochAuthenticator);
  const epoch = tsMembers[0].state.groupContext.epoch;
  const treeHash = hex(tsMembers[0].state.groupContext.treeHash);
  const exp = hex(await mlsExporter(tsMembers[0].state.keySchedule.exporterSecret, "interop", text("ctx"), 32, impl));
  for (const m of tsMembers) {
    check(hex(m.state.keySchedule.epochAuthenticator) === want, `${what}: ${m.name} authenticator`);
    check(m.state.groupContext.epoch === epoch, `${what}: ${m.name} epoch`);
    check(hex(m.state.groupContext.treeHash) === treeHash, `${what}: ${m.name} tree hash`);
  }
  for (const name of ourNames) {
    const [auth, e] = await ours("auth", name);
    check(auth === want, `${what}: ${name} authenticator`);
    check(BigInt(e) === epoch, `${what}: ${name} epoch ${e} vs ${epoch}`);
    const [x] = await ours("export", name, hex(text("interop")), hex(text("ctx")), "32");
    check(x === exp, `${what}: ${name} exporter`);
    const [th] = await ours("treehash", name);
    check(th === treeHash, `${what}: ${name} tree hash`);
  }
  console.log(`  ${what}: epoch ${epoch}, ${tsMembers.length + ourNames.length} members agree`);
  return treeHash;
}

// A proposal message reaches the others (each caches it).
async function deliverProposal(msgHex, tsTo, ourTo) {
  for (const m of tsTo) {
    const r = await tsProcess(m, msgHex);
    check(r.kind === "newState", `${m.name} processes the proposal`);
  }
  for (const name of ourTo) {
    const [kind] = await ours("process", name, msgHex);
    check(kind === "2", `${name} processes the proposal (kind ${kind})`);
  }
}

// Application data from one member to the others.
async function tsSays(from, tsTo, ourTo, s) {
  const msg = await tsProtect(from, s);
  for (const m of tsTo) {
    const r = await tsProcess(m, msg);
    check(r.kind === "applicationMessage" && Buffer.from(r.message).toString() === s, `${m.name} reads ${from.name}`);
  }
  for (const name of ourTo) {
    const [kind, data] = await ours("process", name, msg);
    check(kind === "1" && Buffer.from(data, "hex").toString() === s, `${name} reads ${from.name}`);
  }
}

async function weSay(from, tsTo, ourTo, s) {
  const [msg] = await ours("protect", from, hex(text(s)));
  for (const m of tsTo) {
    const r = await tsProcess(m, msg);
    check(r.kind === "applicationMessage" && Buffer.from(r.message).toString() === s, `${m.name} reads ${from}`);
  }
  for (const name of ourTo) {
    const [kind, data] = await ours("process", name, msg);
    check(kind === "1" && Buffer.from(data, "hex").toString() === s, `${name} reads ${from}`);
  }
}

async function deliverCommit(commitHex, tsTo, ourTo) {
  for (const m of tsTo) {
    const r = await tsProcess(m, commitHex);
    check(r.kind === "newState", `${m.name} processes the commit`);
  }
  const removed = [];
  for (const name of ourTo) {
    const [kind, , rem] = await ours("process", name, commitHex);
    check(kind === "3", `${name} processes the commit (kind ${kind})`);
    if (rem === "1") removed.push(name);
  }
  return removed;
}

async function scenarioTsCreates() {
  console.log("scenario 1: ts-mls creates the group");
  const tA = await tsMember("tA");
  const tB = await tsMember("tB");
  const [eaKp] = await ours("new", "eA");
  tA.state = await createGroup(text("interop group 1"), tA.kp.publicPackage, tA.kp.privatePackage, [], impl);
  const add = (kp) => ({ proposalType: "add", add: { keyPackage: kp } });
  const c1 = await tsCommit(tA, [add(decodeKeyPackage(eaKp)), add(tB.kp.publicPackage)]);
  await ours("join", "eA", c1.welcome);
  await tsJoin(tB, c1.welcome);
  let th = await agree([tA, tB], ["eA"], "after the add");

  await tsSays(tA, [tB], ["eA"], "hello from ts-mls");
  await weSay("eA", [tA, tB], [], "hello from enkrypt");

  const c2 = await tsCommit(tA, []); // ts-mls commits an update
  await deliverCommit(c2.commit, [tB], ["eA"]);
  let th2 = await agree([tA, tB], ["eA"], "after ts-mls's update");
  check(th2 !== th, "ts-mls's update changed the tree");

  const [c3] = await ours("commit", "eA"); // we commit an update
  await deliverCommit(c3, [tA, tB], []);
  th = await agree([tA, tB], ["eA"], "after our update");
  check(th !== th2, "our update changed the tree");

  // Our Update proposal, committed by ts-mls by reference.
  const [upd] = await ours("propose_update", "eA");
  await deliverProposal(upd, [tA, tB], []);
  const c3b = await tsCommit(tA, []);
  await deliverCommit(c3b.commit, [tB], ["eA"]);
  th2 = await agree([tA, tB], ["eA"], "after ts-mls committed our Update proposal");
  check(th2 !== th, "the update changed the tree");
  await weSay("eA", [tA, tB], [], "from our updated leaf");

  // We remove the ts-mls member tB.
  const tbLeaf = tB.state.privatePath.leafIndex;
  const [c4] = await ours("commit", "eA", `remove:${tbLeaf}`);
  const r4 = await tsProcess(tA, c4);
  check(r4.kind === "newState", "tA processes the removal");
  await tsProcess(tB, c4); // tB learns it is out
  check(tB.state.groupActiveState.kind !== "active", "tB knows it was removed");
  await agree([tA], ["eA"], "after we removed tB");
  const [count] = await ours("members", "eA");
  check(count === "2", "two members left");

  await tsSays(tA, [], ["eA"], "after the removal, from ts-mls");
  await weSay("eA", [tA], [], "after the removal, from enkrypt");
}

async function scenarioWeCreate() {
  console.log("scenario 2: enkrypt creates the group");
  const tX = await tsMember("tX");
  await ours("new", "eX");
  const [eyKp] = await ours("new", "eY");
  await ours("create", "eX", hex(text("interop group 2")));
  const [, welcome] = await ours("commit", "eX", `add:${hex(kpMessage(tX))}`, `add:${eyKp}`);
  check(welcome !== "-", "a Welcome");
  await tsJoin(tX, welcome);
  await ours("join", "eY", welcome);
  let th = await agree([tX], ["eX", "eY"], "after the add");

  await weSay("eX", [tX], ["eY"], "hello from enkrypt");
  await tsSays(tX, [], ["eX", "eY"], "hello from ts-mls");

  const c2 = await tsCommit(tX, []); // ts-mls commits an update
  await deliverCommit(c2.commit, [], ["eX", "eY"]);
  let th2 = await agree([tX], ["eX", "eY"], "after ts-mls's update");
  check(th2 !== th, "ts-mls's update changed the tree");

  const [c3] = await ours("commit", "eX"); // we commit an update
  await deliverCommit(c3, [tX], ["eY"]);
  th = await agree([tX], ["eX", "eY"], "after our update");
  check(th !== th2, "our update changed the tree");

  // ts-mls proposes adding tZ; we commit the proposal by reference and
  // tZ joins from our Welcome.
  const tZ = await tsMember("tZ");
  const prop = await tsPropose(tX, { proposalType: "add", add: { keyPackage: tZ.kp.publicPackage } });
  await deliverProposal(prop, [], ["eX", "eY"]);
  const [c3b, welcomeZ] = await ours("commit", "eX");
  check(welcomeZ !== "-", "a Welcome for tZ");
  await deliverCommit(c3b, [tX], ["eY"]);
  await tsJoin(tZ, welcomeZ);
  await agree([tX, tZ], ["eX", "eY"], "after we committed ts-mls's Add proposal");
  await tsSays(tZ, [tX], ["eX", "eY"], "hello from tZ");

  // ts-mls removes our member eY.
  const [eyLeaf] = await ours("leaf", "eY");
  const c4 = await tsCommit(tX, [{ proposalType: "remove", remove: { removed: Number(eyLeaf) } }]);
  const removed = await deliverCommit(c4.commit, [tZ], ["eX", "eY"]);
  check(removed.length === 1 && removed[0] === "eY", "eY sees it was removed");
  await agree([tX, tZ], ["eX"], "after ts-mls removed eY");

  await weSay("eX", [tX, tZ], [], "after the removal, from enkrypt");
  await tsSays(tX, [tZ], ["eX"], "after the removal, from ts-mls");
}

try {
  await scenarioTsCreates();
  await scenarioWeCreate();
  driver.stdin.write("quit\n");
} catch (e) {
  console.error("FAIL:", e.message);
  driver.kill();
  process.exit(1);
}
driver.stdin.end();
console.log(`interop.mls.ts-mls: ok (${checks} checks)`);
