/** What every exchange of a running gateway shares. */
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { SubrequestBridge } from '../subrequest/index.ts';
import type { ListenBounds } from './listener.ts';
import type { PathPolicy } from './paths.ts';
import type { RouteTable } from './routes.ts';
import type { Upstreams } from './upstreams.ts';

export interface GatewayState {
  readonly logger: Logger;
  readonly accessLog: Logger;
  readonly routes: RouteTable;
  /** How request-targets are normalised before routing (config `paths`). */
  readonly paths: PathPolicy;
  /** One per route by its name, and one per backend with upstream filters by `backendKey(upstream, backend)`. */
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  readonly upstreams: Upstreams;
  readonly bridge: SubrequestBridge;
  readonly maxDepth: number;
  /** The listener's client bounds (defaults when absent, as in an embedder's own server). */
  readonly listen?: ListenBounds;
  readonly metrics?: Metrics;
}

/** What the access log reports of one exchange, filled in as it goes. */
export interface ExchangeRecord {
  status: number;
  bytesOut: number;
  upstream?: string;
  backend?: string;
  endpoint?: string;
}
