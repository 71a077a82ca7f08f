// An ordinary ESM TCP echo server using named imports of node:net (nothing via-net specific).
// Usage: node echo-server.mjs ; prints "PORT <n>", then per connection "CONN <transport>".
import { createServer } from 'node:net';

const server = createServer((socket) => {
  console.log(`CONN ${socket.transport}`);
  socket.pipe(socket);
});
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
process.on('SIGTERM', () => server.close());
