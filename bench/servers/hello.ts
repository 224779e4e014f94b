/**
 * The HTTP ceiling: a bare node:http server answering every request with a small JSON body.
 * Prints its port on stdout once listening.
 */
import { createServer } from 'node:http';

const body = Buffer.from('{\n"header":["hello"],\n"rows":[\n]\n}\n');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
