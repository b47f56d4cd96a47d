// peer_server.mjs: the reference PeerJS server (npm peer@1.0.2) on
// 127.0.0.1 and a free port, for the client/net tests and benchmark.
//   node peer_server.mjs ['{"expire_timeout":1500,...}']
// Prints "peer listening on http://127.0.0.1:PORT/" once it listens and
// exits on SIGTERM (the C harness asks the kernel to send it one if the
// test dies: PR_SET_PDEATHSIG).
import { PeerServer } from 'peer';

const extra = process.argv[2] ? JSON.parse(process.argv[2]) : {};
const options = { port: 0, host: '127.0.0.1', path: '/', ...extra };
PeerServer(options, (server) => {
  const { port } = server.address();
  console.log(`peer listening on http://127.0.0.1:${port}/`);
});
process.on('SIGTERM', () => process.exit(0));
