'use strict';
// An ordinary app that listens once and stops: prints {"listened":true}.
const net = require('net');

const server = net.createServer();
server.listen(0, '127.0.0.1', () => server.close(() => console.log(JSON.stringify({ listened: true }))));
