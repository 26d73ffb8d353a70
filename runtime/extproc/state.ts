/** What every ext_proc stream of a running service shares (the gateway's GatewayState, less the listener). */
import type { Logger } from 'pino';
import type { UpstreamConfig } from '../config/types.ts';
import type { PathPolicy } from '../gateway/paths.ts';
import type { RouteTable } from '../gateway/routes.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { SubrequestBridge } from '../subrequest/index.ts';
import type { LinkedRequests } from './linked-requests.ts';
import type { BackendRef } from './upstream-phase.ts';

export interface ExtProcState {
  readonly logger: Logger;
  readonly accessLog: Logger;
  readonly routes: RouteTable;
  readonly paths: PathPolicy;
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  /** The configured upstreams: a filter's choice must name one, and its endpoints go to Envoy. */
  readonly upstreams: Readonly<Record<string, UpstreamConfig>>;
  readonly bridge: SubrequestBridge;
  readonly maxDepth: number;
  readonly metrics: Metrics;
  /** Envoy's buffer for a BUFFERED body; a filter holding more is served in STREAMED mode. */
  readonly envoyBufferBytes: number;
  /** Envoy cluster name -> backend, for upstream-phase streams. */
  readonly clusters: ReadonlyMap<string, BackendRef>;
  /** Route-phase contexts by request id (outlives reloads: the phases of one request may straddle one). */
  readonly linked: LinkedRequests;
  /** Some backend has upstream filters: route-phase contexts are held for them to find. */
  readonly linkRoutePhase: boolean;
  /** The chain of a backend without upstream filters. */
  readonly emptyPipeline: Pipeline;
}
