/**
 * Envoy with two ext_proc filters: the route phase (a downstream filter, one stream per request)
 * and the upstream phase (an upstream filter of each backend's cluster, one stream per attempt,
 * with `x-praxis-phase: upstream` as gRPC metadata and the cluster as the `xds.cluster_name`
 * attribute). Each phase's request-side answers are applied as Envoy does, `:path` included.
 */
import * as grpc from '@grpc/grpc-js';
import type { HeaderList } from '../../runtime/component/types.ts';
import type { ProcessingRequest, ProcessingResponse } from '../../runtime/extproc/messages.ts';
import { EnvoyStream, body as bodyMsg, immediateStatus, mutationOf, requestHeaders, responseHeaders } from './client.ts';

/** A request as Envoy holds it after a phase: what the next phase (or the upstream) gets. */
export interface Held { path: string; headers: HeaderList; body?: string }
export type PhaseOutcome =
  | { kind: 'forwarded'; request: Held; stream: EnvoyStream; first: ProcessingResponse }
  | { kind: 'answered'; status: number; body: string; stream: EnvoyStream; first: ProcessingResponse };

function applyMutation(held: Held, m: ReturnType<typeof mutationOf>): Held {
  const drop = new Set([...m.remove, ...Object.keys(m.set)]);
  const path = m.set[':path']?.[0] ?? held.path;
  const headers = [...held.headers.filter(([k]) => !drop.has(k)), ...Object.entries(m.set).filter(([k]) => !k.startsWith(':')).flatMap(([k, vs]) => vs.map((v): [string, string] => [k, v]))];
  return { ...held, path, headers };
}

/** Runs the request side of one phase on `stream`; the stream stays open for the response side. */
export async function requestPhase(stream: EnvoyStream, held: Held, extra: Partial<ProcessingRequest> = {}): Promise<PhaseOutcome> {
  const msg = requestHeaders(held.path, held.headers, { method: held.body === undefined ? 'GET' : 'POST', endOfStream: held.body === undefined });
  const first = await stream.send({ ...msg, ...extra });
  const answered = (r: ProcessingResponse): PhaseOutcome => ({ kind: 'answered', status: immediateStatus(r)!, body: Buffer.from(r.immediateResponse!.body ?? []).toString(), stream, first });
  if (first.immediateResponse) return answered(first);
  let out = applyMutation(held, mutationOf(first.requestHeaders?.response?.headerMutation));
  const replaced = first.requestHeaders?.response?.bodyMutation?.body;
  if (replaced) out.body = Buffer.from(replaced).toString();
  const mode = first.modeOverride?.requestBodyMode ?? 'NONE';
  if (held.body !== undefined && !replaced && mode !== 'NONE') {
    const r = await stream.send(bodyMsg('request', held.body, true));
    if (r.immediateResponse) return answered(r);
    const bm = r.requestBody?.response?.bodyMutation;
    if (bm?.clearBody) out.body = '';
    else if (bm?.body) out.body = Buffer.from(bm.body).toString();
    out = applyMutation(out, mutationOf(r.requestBody?.response?.headerMutation));
  }
  return { kind: 'forwarded', request: out, stream, first };
}

/** The metadata of an upstream-phase stream; `cluster` goes in the metadata only when asked. */
export function upstreamMetadata(cluster?: string): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-praxis-phase', 'upstream');
  if (cluster !== undefined) m.set('x-praxis-cluster', cluster);
  return m;
}

/** `xds.cluster_name` as Envoy sends a requested attribute (under the filter's name). */
export function clusterAttribute(cluster: string): Partial<ProcessingRequest> {
  return { attributes: { 'envoy.filters.http.ext_proc': { fields: { 'xds.cluster_name': { stringValue: cluster } } } } };
}

/** The dialled endpoint's `praxis.backend` metadata, as the CEL attribute Envoy evaluates. */
export function hostMetadataAttribute(backend: string): Partial<ProcessingRequest> {
  return { attributes: { 'envoy.filters.http.ext_proc': { fields: { "xds.upstream_host_metadata.filter_metadata['praxis']['backend']": { stringValue: backend }, 'xds.cluster_name': { stringValue: 'llm' } } } } };
}

/** One attempt's upstream phase: the route phase's output plus Envoy's attempt count, to `cluster`. */
export function upstreamPhase(client: grpc.Client, cluster: string, attempt: number, routed: Held): Promise<PhaseOutcome> {
  const stream = new EnvoyStream(client, upstreamMetadata());
  const headers: HeaderList = [...routed.headers.filter(([k]) => k !== 'x-envoy-attempt-count'), ['x-envoy-attempt-count', String(attempt)]];
  return requestPhase(stream, { ...routed, headers }, clusterAttribute(cluster));
}

/** The upstream's answer through a phase's response side; the header mutation as name -> values. */
export async function responsePhase(stream: EnvoyStream, status: number): Promise<Record<string, string[]>> {
  const r = await stream.send(responseHeaders(status, [['content-type', 'application/json']]));
  stream.end();
  return mutationOf(r.responseHeaders?.response?.headerMutation).set;
}
