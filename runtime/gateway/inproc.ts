/**
 * The gateway's own route as a sub-request target: a `route://` call becomes an HTTP/1.1
 * exchange on an in-memory connection handed straight to the gateway's node:http server, so it
 * meets the same exchange as a client request (loop guard, saturation, the route's filters,
 * upstream selection, timeouts, access log) without opening a socket. The route is forced by
 * the secret-bearing header (route-target.ts), which is hop-by-hop and so never passed on.
 */
import { type IncomingHttpHeaders, type Server, request } from 'node:http';
import { duplexPair } from 'node:stream';
import { ROUTE_HEADER, type RouteCall, type RouteResponse, type RouteTarget, routeHeaderValue } from '../subrequest/route-target.ts';

function headerObject(call: RouteCall): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of call.headers) {
    const prior = out[k];
    out[k] = prior === undefined ? v : Array.isArray(prior) ? [...prior, v] : [prior, v];
  }
  out.host = `route.${call.route}`;
  out[ROUTE_HEADER] = routeHeaderValue(call.route);
  // One request per in-memory connection: it closes with the response.
  out.connection = 'close';
  if (call.body !== undefined) out['content-length'] = String(call.body.byteLength);
  return out;
}

export function inprocRouteTarget(server: Server): RouteTarget {
  return (call) => new Promise<RouteResponse>((resolve, reject) => {
    const [client, served] = duplexPair();
    server.emit('connection', served);
    const req = request({
      createConnection: () => client,
      method: call.method, path: call.path, headers: headerObject(call), signal: call.signal,
    }, (res) => {
      res.once('close', () => client.destroy());
      resolve({ status: res.statusCode ?? 502, headers: res.headers, body: res });
    });
    req.once('error', (err) => {
      client.destroy();
      reject(err);
    });
    req.end(call.body === undefined ? undefined : Buffer.from(call.body.buffer, call.body.byteOffset, call.body.byteLength));
  });
}
