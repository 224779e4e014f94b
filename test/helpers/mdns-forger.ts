/**
 * A hostile host on the link, for the discovery test: sends multicast DNS responses announcing
 * Tendril sync services it chooses (node ids, ports, address records), from port 5353 as a real
 * responder would, then exits. Run inside a test namespace:
 *   ip netns exec NS node --import tsx test/helpers/mdns-forger.ts '[{"node":"…","port":9,"a":"127.0.0.1"}]'
 */
import makeMdns from 'multicast-dns';
import { advertRecords } from '../../src/services/sync/discovery/records.js';

interface Forged {
  readonly node: string;
  readonly port: number;
  /** The address record to carry (which an honest browser would dial, and Tendril never does). */
  readonly a: string;
}

const forged = JSON.parse(process.argv[2] ?? '[]') as Forged[];
const mdns = makeMdns();
mdns.on('ready', () => {
  void (async () => {
    // Several small packets, 8 services each, as responders split long answers.
    for (let i = 0; i < forged.length; i += 8) {
      const answers = forged.slice(i, i + 8).flatMap((f) => advertRecords(f.node, [{ scheme: 'http', port: f.port }], [f.a]));
      await new Promise<void>((resolve, reject) => mdns.respond({ answers }, (err: Error | null) => (err ? reject(err) : resolve())));
    }
    mdns.destroy();
  })();
});
