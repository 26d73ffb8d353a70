/** What every ext_proc stream of a running service shares (the gateway's GatewayState, less the listener). */
import type { Logger } from 'pino';
import type { UpstreamConfig } from '../config/types.ts';
import type { PathPolicy } from '../gateway/paths.ts';
import type { RouteTable } from '../gateway/routes.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { SubrequestBridge } from '../subrequest/index.ts';

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
}
