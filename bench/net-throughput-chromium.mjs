// net-throughput-chromium.mjs: the browser half of net-throughput's
// C<->Chromium figures. A page in Debian's Chromium loads the real peerjs
// client, registers with the broker net-throughput started on 127.0.0.1,
// connects to the C peer (serialization "raw": ArrayBuffers straight on the
// data channel, like the research spike's plain RTCPeerConnection) and then
// obeys the C side's text commands:
//   reset         zero the receive counters
//   count?        reply "count <bytes> <frames> <ms from first to last>"
//   send S F      send F-byte messages for S seconds with the spike's flow
//                 control (bufferedAmount < 4 MiB, low threshold 1 MiB), then
//                 reply "sent <bytes>"
//   P...          echo (round-trip pings)
//   bye           done
// It first reports "open <ms>": connect() to the 'open' event.
//   node net-throughput-chromium.mjs --port P --cpeer ID --seconds S
import { parseArgs, withTimeout, startPageServer, launchChromium }
  from '../tests/client/node/harness.mjs';

const args = parseArgs(process.argv.slice(2));

async function main() {
  const pages = await startPageServer();
  const ch = await launchChromium();
  let code = 0;
  try {
    const page = await ch.browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') console.error(`[page] ${m.text()}`); });
    await page.goto(pages.url);
    await withTimeout(page.evaluate((o) => window.t.start(o),
      { port: Number(args.port), id: `bench-web-${Date.now() % 1e8}` }), 20000, 'register');
    await withTimeout(page.evaluate((cpeer) => new Promise((resolve, reject) => {
      const t0 = performance.now();
      const conn = window.t.peer.connect(cpeer, { serialization: 'raw', reliable: true });
      let bytes = 0, frames = 0, first = 0, last = 0;
      conn.on('error', (e) => reject(String(e.type || e)));
      conn.on('close', () => resolve('closed'));
      conn.on('open', () => {
        conn.send(`open ${(performance.now() - t0).toFixed(1)}`);
        const dc = conn.dataChannel;
        dc.bufferedAmountLowThreshold = 1 << 20;
        conn.on('data', (d) => {
          if (typeof d !== 'string') {
            const now = performance.now();
            if (frames === 0) first = now;
            last = now;
            frames++;
            bytes += d.byteLength;
            return;
          }
          if (d === 'reset') { bytes = frames = 0; return; }
          if (d === 'count?') { conn.send(`count ${bytes} ${frames} ${(last - first).toFixed(3)}`); return; }
          if (d === 'bye') { resolve('bye'); return; }
          if (d.startsWith('P')) { dc.send(d); return; }
          if (d.startsWith('send ')) {
            const [, secs, size] = d.split(' ');
            const buf = new ArrayBuffer(Number(size));
            const end = performance.now() + Number(secs) * 1000;
            let sent = 0;
            const pumpOut = () => {
              while (performance.now() < end) {
                if (dc.bufferedAmount >= (4 << 20)) { dc.onbufferedamountlow = pumpOut; return; }
                dc.send(buf);
                sent += buf.byteLength;
              }
              dc.onbufferedamountlow = null;
              dc.send(`sent ${sent}`);
            };
            pumpOut();
          }
        });
      });
    }), args.cpeer), 600000, 'the benchmark');
  } catch (e) {
    console.error(`net-throughput-chromium: ${e.message || e}`);
    code = 1;
  }
  await ch.stop();
  await pages.stop();
  process.exit(code);
}
main();
