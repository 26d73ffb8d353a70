/**
 * The connection pool behind each upstream: an undici Agent whose connections close when they
 * were opened for nothing.
 *
 * When a request already on a connection is aborted (the route timeout, the client leaving, a
 * response body released unread), undici destroys that connection, as it must; but it then puts
 * the aborted request back at the head of its queue, opens a *new* connection for it, and only
 * once connected sees that the request was aborted and drops it (nodejs/undici#5845, present in
 * 7.x). The new connection has never carried a request: it sits in the pool for the keep-alive
 * timeout, and the upstream cannot close it as idle either, since to the server it is a
 * connection still owing its first request. One per aborted exchange, to exactly the upstreams
 * that stall or trickle.
 *
 * undici connects only for a queued request, and from inside the connect callback it writes
 * that request at once (synchronously), so once the callback returns the connection's client
 * counts it (`stats.size`). A client that counts nothing then has found nothing to send: the
 * connection is closed there and then. Should undici fix the bug, the check is simply never
 * true; it cannot close a connection that carries a request.
 */
import { Agent, Client, Pool, type buildConnector } from 'undici';

/** A connector that closes the connection when its client has nothing to send on it. */
function closingUnused(connect: buildConnector.connector, client: () => Client): buildConnector.connector {
  return (options, callback) => {
    connect(options, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('the connector returned no socket'), null);
      callback(null, socket);
      if (client().stats.size === 0) socket.destroy();
    });
  };
}

function client(origin: URL | string, options: Client.Options): Client {
  const connect = options.connect;
  // The Pool builds the connector (with the connect timeout) and hands it to each client it makes.
  if (typeof connect !== 'function') return new Client(origin, options);
  const made: Client = new Client(origin, { ...options, connect: closingUnused(connect, () => made) });
  return made;
}

/** An Agent (one Pool per origin) with `options`, whose connections opened for aborted requests close at once. */
export function upstreamAgent(options: Agent.Options): Agent {
  return new Agent({
    ...options,
    factory: (origin, poolOptions) => new Pool(origin, { ...poolOptions, factory: client }),
  });
}
