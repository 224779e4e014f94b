import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { insert } from '../helpers/rhizome.js';
import { startSyncNode } from '../helpers/sync.js';
import { startProxy } from '../helpers/tcp-proxy.js';
it('x', async () => {
  const [a, b] = await Promise.all([startSyncNode('a'), startSyncNode('b')]);
  const proxy = await startProxy(Number(new URL(a.meshUrl).port));
  try {
    await b.addPeer('a', a, { url: proxy.url });
    proxy.limit(Number(process.env.LIMIT) || undefined);
    const r = await insert(a.api, { manifest: 'service=file\nname=x\n', payload: randomBytes(12 * 1024 * 1024) });
    console.log(r.status);
    await new Promise((r) => setTimeout(r, 3000));
    console.log(await b.peers(), proxy.up, proxy.down);
  } finally {
    console.log(b.child.stderr().slice(-1500)); console.log("A:", a.child.stderr().slice(-800)); console.log(b.log().split('\n').filter((l) => !l.includes('request completed')).join('\n').slice(-3000));
    await proxy.close();
    await a.destroy(); await b.destroy();
  }
});
