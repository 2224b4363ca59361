import http from 'node:http';

// The ceiling: a bare Node HTTP server that reads and parses the same JSON body and answers
// a small JSON document, nothing else. Whatever the ingest API adds costs relative to this.
// It listens on a port the kernel picks and prints `listening <port>`, so the bench measures
// this process and never a stray one that held a fixed port.
const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { source?: unknown };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: 'success', source: body.source }));
    } catch {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end('{"error":"invalid_payload"}');
    }
  });
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`,
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
