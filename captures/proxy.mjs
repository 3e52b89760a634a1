// Two tiny forwarding proxies on loopback for make-dialogue-captures.sh: SOCKS5 (RFC 1928, no
// authentication, CONNECT only) on 127.0.0.1:1080 and HTTP CONNECT on 127.0.0.1:3128. They connect only to
// 127.0.0.0/8 targets (anything else is refused) and then copy bytes both ways.
// Usage: node captures/proxy.mjs   (prints "ready proxy"; stops on SIGTERM or SIGINT)
import net from 'node:net';

const loopback = (host) => net.isIPv4(host) && host.startsWith('127.');

function tunnel(client, host, port, onOpen) {
  if (!loopback(host)) return false;
  const upstream = net.connect({ host, port }, () => {
    onOpen();
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
  client.on('close', () => upstream.end());
  upstream.on('close', () => client.end());
  return true;
}

const socks = net.createServer((client) => {
  let buffered = Buffer.alloc(0);
  let stage = 'greeting';
  const onData = (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (stage === 'greeting') {
      if (buffered.length < 2 || buffered.length < 2 + buffered[1]) return;
      buffered = buffered.subarray(2 + buffered[1]);
      client.write(Buffer.from([5, 0])); // version 5, no authentication
      stage = 'request';
    }
    if (stage === 'request') {
      // VER CMD RSV ATYP=1 (IPv4) ADDR(4) PORT(2)
      if (buffered.length < 10) return;
      if (buffered[0] !== 5 || buffered[1] !== 1 || buffered[3] !== 1) {
        client.end(Buffer.from([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
        return;
      }
      const host = [...buffered.subarray(4, 8)].join('.');
      const port = buffered.readUInt16BE(8);
      const rest = buffered.subarray(10);
      stage = 'open';
      client.off('data', onData);
      const ok = tunnel(client, host, port, () => {
        client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
        if (rest.length > 0) client.emit('data', rest);
      });
      if (!ok) client.end(Buffer.from([5, 2, 0, 1, 0, 0, 0, 0, 0, 0]));
    }
  };
  client.on('data', onData);
});

const http = net.createServer((client) => {
  let buffered = '';
  const onData = (chunk) => {
    buffered += chunk.toString('latin1');
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0) return;
    client.off('data', onData);
    const m = /^CONNECT ([0-9.]+):(\d+) HTTP\/1\.[01]\r\n/.exec(buffered);
    const ok =
      m !== null &&
      tunnel(client, m[1], Number(m[2]), () => client.write('HTTP/1.1 200 Connection established\r\n\r\n'));
    if (!ok) client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  };
  client.on('data', onData);
});

let ready = 0;
const listening = () => {
  ready += 1;
  if (ready === 2) process.stdout.write('ready proxy\n');
};
socks.listen(1080, '127.0.0.1', listening);
http.listen(3128, '127.0.0.1', listening);
const stop = () => {
  socks.close();
  http.close();
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
