/**
 * The upstream phase behind Envoy: a second ext_proc filter, configured as an upstream HTTP filter
 * of each backend's cluster, opens one stream per attempt once Envoy has picked the cluster. Such a
 * stream says it is one with gRPC metadata `x-praxis-phase: upstream` (the filter's
 * `grpc_service.initial_metadata`), names its backend through `request_attributes` (the dialled
 * endpoint's metadata, or the cluster's name) or `x-praxis-cluster` metadata, and runs that backend's upstream filters
 * with Envoy's attempt count and the route phase's context store (linked-requests.ts).
 */
import type { Metadata } from '@grpc/grpc-js';
import type { HeaderList, RequestHead } from '../component/types.ts';
import type { GatewayConfig } from '../config/types.ts';
import { ConfigError } from '../config/load.ts';
import { backendKey, backendsOf } from '../gateway/backends.ts';
import { getHeader } from '../pipeline/headers.ts';
import { createRequestContext } from '../pipeline/request-context.ts';
import { requestIdentity } from '../pipeline/admission.ts';
import { ATTEMPT_HEADER, parseTraceparent, startTrace } from '../subrequest/index.ts';
import { errorAnswer } from './answers.ts';
import type { Admission } from './admission.ts';
import { type HeaderMap, type Struct, splitHeaders } from './messages.ts';
import type { ExtProcState } from './state.ts';

export const PHASE_METADATA = 'x-praxis-phase';
export const CLUSTER_METADATA = 'x-praxis-cluster';
export const CLUSTER_ATTRIBUTE = 'xds.cluster_name';
/**
 * The backend named by the endpoint Envoy dialled: for one cluster whose priority localities are
 * the backends (Envoy's own failover between them), where `xds.cluster_name` names only the cluster.
 */
export const HOST_METADATA_ATTRIBUTE = "xds.upstream_host_metadata.filter_metadata['praxis']['backend']";
const ENVOY_ATTEMPT = 'x-envoy-attempt-count';
/** An upstream-phase stream with no route phase to take its deadline from (another replica's, say). */
const UNLINKED_TIMEOUT_MS = 30_000;

/** A backend as an upstream-phase stream finds it. */
export interface BackendRef {
  upstream: string;
  backend: string;
}

/** Whether the stream's gRPC metadata marks it as an upstream-phase stream. */
export function isUpstreamPhase(metadata: Metadata | undefined): boolean {
  return metadata?.get(PHASE_METADATA)[0] === 'upstream';
}

/**
 * Envoy cluster name -> backend, from `envoyCluster` (default: the backend's name). Two backends
 * under one cluster name could not be told apart: that stops the start, naming both keys.
 */
export function clusterMap(config: Pick<GatewayConfig, 'upstreams'>, source = 'extproc'): Map<string, BackendRef> {
  const map = new Map<string, BackendRef & { key: string }>();
  const problems: string[] = [];
  for (const [upstream, u] of Object.entries(config.upstreams)) {
    backendsOf(upstream, u).forEach((b, i) => {
      const cluster = b.envoyCluster ?? b.name;
      const key = u.backends ? `upstreams.${upstream}.backends[${i}]` : `upstreams.${upstream}`;
      const prior = map.get(cluster);
      if (prior) problems.push(`${key}: Envoy cluster "${cluster}" is also ${prior.key}'s; set envoyCluster to tell them apart`);
      else map.set(cluster, { upstream, backend: b.name, key });
    });
  }
  if (problems.length) throw new ConfigError(source, problems);
  return new Map([...map].map(([c, { upstream, backend }]) => [c, { upstream, backend }]));
}

/**
 * The backend's name as Envoy gave it: the dialled endpoint's `praxis.backend` metadata, else the
 * `xds.cluster_name` attribute (Envoy files attributes under the filter's name: any is read), else
 * `x-praxis-cluster` gRPC metadata.
 */
export function clusterOf(attributes: Record<string, Struct> | undefined, metadata: Metadata | undefined): string | undefined {
  for (const key of [HOST_METADATA_ATTRIBUTE, CLUSTER_ATTRIBUTE]) {
    for (const s of Object.values(attributes ?? {})) {
      const v = s.fields?.[key]?.stringValue;
      if (v) return v;
    }
  }
  const m = metadata?.get(CLUSTER_METADATA)[0];
  return typeof m === 'string' && m ? m : undefined;
}

/**
 * Admission of an upstream-phase stream. No refusal of the route phase applies again (Envoy only
 * opens it for a request the route phase let through); what can fail is the cluster: one the
 * config does not name is answered 502 (`unknown_backend`), never passed through without its
 * backend's filters (they may be what puts the backend's credential on).
 */
export function admitUpstream(state: ExtProcState, map: HeaderMap | undefined, cluster: string | undefined): Admission {
  const { pseudo, headers } = splitHeaders(map);
  const { id } = requestIdentity(headers);
  const ref = cluster === undefined ? undefined : state.clusters.get(cluster);
  if (!ref) {
    state.logger.error({ requestId: id, cluster: cluster ?? null }, cluster === undefined
      ? `upstream-phase stream without a cluster name: add ${CLUSTER_ATTRIBUTE} to the filter's request_attributes`
      : 'upstream-phase stream for a cluster no backend names (upstreams.<u>.backends[].envoyCluster, default: the name)');
    return { kind: 'refused', id, answer: errorAnswer(502, 'unknown_backend', id) };
  }
  const linked = state.linked.lookup(id);
  if (linked.kind !== 'found') state.logger.debug({ requestId: id, linked: linked.kind }, 'upstream-phase stream without its route phase: its filters see an empty context');
  const route = linked.kind === 'found' ? linked.ctx : undefined;
  const ctx = createRequestContext({
    id, route: route?.route ?? '',
    timeoutMs: route ? Math.max(1, route.deadline - Date.now()) : UNLINKED_TIMEOUT_MS,
    trace: route?.trace ?? parseTraceparent(getHeader(headers, 'traceparent')) ?? startTrace(),
    depth: route?.depth ?? 0, logger: state.logger,
    ...(route ? { store: route.store } : {}),
  });
  const attempt = Number(getHeader(headers, ENVOY_ATTEMPT));
  if (Number.isInteger(attempt) && attempt >= 1) ctx.attempt = attempt;
  // Upstream filters see the attempt's number in the head, as in the gateway (attempt.ts).
  const authority = pseudo.get(':authority') ?? getHeader(headers, 'host') ?? '';
  const withHost: HeaderList = getHeader(headers, 'host') === undefined && authority ? [...headers, ['host', authority]] : headers;
  const withAttempt: HeaderList = [...withHost.filter(([k]) => k !== ATTEMPT_HEADER), [ATTEMPT_HEADER, String(ctx.attempt)]];
  const target = pseudo.get(':path') ?? '/';
  const head: RequestHead = { method: pseudo.get(':method') ?? 'GET', path: target, authority, headers: withAttempt };
  const pipeline = state.pipelines.get(backendKey(ref.upstream, ref.backend)) ?? state.emptyPipeline;
  return {
    kind: 'admitted', id, ctx, head, target, idIsNew: false, pipeline,
    phase: { upstream: ref.upstream, backend: ref.backend }, base: withHost.filter(([k]) => k !== ATTEMPT_HEADER),
  };
}
