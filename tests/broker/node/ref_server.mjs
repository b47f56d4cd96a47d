// ref_server.mjs: the reference PeerJS server (npm peer@1.0.2) on 127.0.0.1
// and a free port, for the broker's browser test and load benchmark.
// argv[2]: JSON of extra options (expire_timeout, alive_timeout, ...).
// Prints "peer listening on http://127.0.0.1:PORT/" once it listens.
import { PeerServer } from 'peer';

const extra = process.argv[2] ? JSON.parse(process.argv[2]) : {};
const options = { port: 0, host: '127.0.0.1', path: '/', ...extra };
PeerServer(options, (server) => {
  const { port } = server.address();
  console.log(`peer listening on http://127.0.0.1:${port}/`);
});
process.on('SIGTERM', () => process.exit(0));
