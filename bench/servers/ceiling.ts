/**
 * Ceilings for the Rhizome benchmarks: a bare node:http server doing only the transport part of
 * each Tendril request, in a process of its own like the node. Prints its port once listening.
 *
 *   POST /sink        reads and discards the body (any size), answers 201 with REPLY_BYTES bytes
 *                     (the size of Tendril's answer to a small insert: a signed manifest)
 *   GET  /file        streams FILE (argv[2]) with fs.createReadStream, as Tendril streams raw.bin
 *   GET  /memory      answers MEMORY_FILE (argv[3], read at start) from memory in one write
 *   GET  /hold        a held long-poll: a JSON table head now, rows later (newsince)
 *   POST /fire?m=M    writes a row carrying M to every held response, then answers 201
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';

const [file, memoryFile, replyBytes = '400'] = process.argv.slice(2).map((a) => (a === '-' ? undefined : a));
const reply = Buffer.alloc(Number(replyBytes), 'x');
const memory = memoryFile === undefined ? Buffer.alloc(0) : readFileSync(memoryFile);
const fileSize = file === undefined ? 0 : statSync(file).size;
const HEAD = '{\n"header":[".token","_id","service","id","version","date",".inserttime",".author",".fromhere","filesize","filehash","sender","recipient","name"],\n"rows":[';
const held = new Set<ServerResponse>();

const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 0 }, (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'POST' && url.pathname === '/sink') {
    req.resume();
    req.on('end', () => {
      res.writeHead(201, { 'Content-Type': 'rhizome/manifest; format=text+binarysig', 'Content-Length': reply.length });
      res.end(reply);
    });
  } else if (url.pathname === '/file' && file !== undefined) {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': fileSize });
    createReadStream(file).pipe(res);
  } else if (url.pathname === '/memory') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': memory.length });
    res.end(memory);
  } else if (url.pathname === '/hold') {
    res.socket?.setTimeout(0);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(HEAD);
    held.add(res);
    res.on('close', () => held.delete(res));
  } else if (req.method === 'POST' && url.pathname === '/fire') {
    req.resume();
    req.on('end', () => {
      // A row of the size of a Tendril bundle row.
      const row = `\n["${url.searchParams.get('m') ?? ''}",${'"'.padEnd(380, 'x')}"]`;
      for (const r of held) r.write(row);
      res.writeHead(201, { 'Content-Length': reply.length });
      res.end(reply);
    });
  } else {
    res.writeHead(404, { 'Content-Length': 0 });
    res.end();
  }
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  for (const r of held) r.destroy();
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
