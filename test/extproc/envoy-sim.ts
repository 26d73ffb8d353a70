/**
 * What Envoy would forward after asking the ext_proc service about one request: the decisions of
 * the request phases applied to the request (headers, body, endpoint), or the immediate answer.
 * Drives the stream in Envoy's message order and honours the mode the service asks for.
 */
import type { HeaderList } from '../../runtime/component/types.ts';
import type { ProcessingResponse } from '../../runtime/extproc/messages.ts';
import { EnvoyStream, body as bodyMsg, immediateStatus, mutationOf, requestHeaders } from './client.ts';
import type * as grpc from '@grpc/grpc-js';

export interface Forwarded {
  kind: 'forwarded';
  headers: HeaderList;
  body: string;
  /** `x-gateway-destination-endpoint`, when the service picked one. */
  endpoint?: string;
}
export interface Answered { kind: 'answered'; status: number; body: string }

function apply(headers: HeaderList, r: ProcessingResponse['requestHeaders']): HeaderList {
  const m = mutationOf(r?.response?.headerMutation);
  const drop = new Set([...m.remove, ...Object.keys(m.set)]);
  return [...headers.filter(([k]) => !drop.has(k)), ...Object.entries(m.set).flatMap(([k, vs]) => vs.map((v): [string, string] => [k, v]))];
}

export async function throughEnvoy(client: grpc.Client, path: string, headers: HeaderList, body?: string): Promise<Forwarded | Answered> {
  const s = new EnvoyStream(client);
  try {
    const answered = (r: ProcessingResponse): Answered => ({ kind: 'answered', status: immediateStatus(r)!, body: Buffer.from(r.immediateResponse!.body ?? []).toString() });
    const h = await s.send(requestHeaders(path, headers, { method: body === undefined ? 'GET' : 'POST', endOfStream: body === undefined }));
    if (h.immediateResponse) return answered(h);
    let out = apply(headers, h.requestHeaders);
    let forwarded = body ?? '';
    const replacedAtHeaders = h.requestHeaders?.response?.bodyMutation?.body;
    if (replacedAtHeaders) forwarded = Buffer.from(replacedAtHeaders).toString();
    const mode = h.modeOverride?.requestBodyMode ?? 'NONE';
    if (body !== undefined && !replacedAtHeaders && mode !== 'NONE') {
      // BUFFERED: the whole body in one message; STREAMED: in two chunks, each answer replacing its chunk.
      const parts = mode === 'BUFFERED' ? [body] : [body.slice(0, body.length >> 1), body.slice(body.length >> 1)];
      forwarded = '';
      for (let i = 0; i < parts.length; i++) {
        const r = await s.send(bodyMsg('request', parts[i]!, i === parts.length - 1));
        if (r.immediateResponse) return answered(r);
        const bm = r.requestBody?.response?.bodyMutation;
        forwarded += bm?.clearBody ? '' : bm?.body ? Buffer.from(bm.body).toString() : parts[i];
        if (r.requestBody?.response?.headerMutation) out = apply(out, { response: { headerMutation: r.requestBody.response.headerMutation } });
      }
    }
    const endpoint = out.find(([k]) => k === 'x-gateway-destination-endpoint')?.[1];
    return { kind: 'forwarded', headers: out, body: forwarded, ...(endpoint ? { endpoint } : {}) };
  } finally {
    s.end();
  }
}
