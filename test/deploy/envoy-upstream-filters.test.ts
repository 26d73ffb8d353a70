/**
 * The upstream-filters Envoy example: the cluster's upstream filter chain holds the upstream-phase
 * ext_proc filter (marked by its gRPC metadata, asking for the attributes praxis-wasm reads) before
 * the codec filter, and every endpoint's `praxis.backend` names a backend of examples/ai-gateway.yaml.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../runtime/config/load.ts';
import { CLUSTER_ATTRIBUTE, HOST_METADATA_ATTRIBUTE, PHASE_METADATA, clusterMap } from '../../runtime/extproc/upstream-phase.ts';
import { ROOT } from '../helpers/servers.ts';
import { yamlDocuments } from './manifests.ts';

interface Filter { name: string; typed_config: Record<string, unknown> }
interface ExtProc {
  grpc_service: { envoy_grpc: { cluster_name: string }; initial_metadata?: Array<{ key: string; value: string }> };
  request_attributes?: string[];
  failure_mode_allow: boolean;
  allow_mode_override: boolean;
}
interface Cluster {
  name: string;
  typed_extension_protocol_options?: Record<string, { http_filters?: Filter[] }>;
  load_assignment?: { endpoints: Array<{ priority?: number; lb_endpoints: Array<{ metadata?: { filter_metadata?: { praxis?: { backend?: string } } } }> }> };
}
interface Bootstrap {
  static_resources: {
    listeners: Array<{ filter_chains: Array<{ filters: Array<{ typed_config: { http_filters: Filter[]; route_config: { virtual_hosts: Array<{ include_attempt_count_in_request?: boolean; routes: Array<{ route: { cluster: string } }> }> } } }> }> }>;
    clusters: Cluster[];
  };
}

const [boot] = yamlDocuments('deploy/envoy/envoy-upstream-filters.yaml') as Bootstrap[];
const hcm = boot!.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config;
const clusters = new Map(boot!.static_resources.clusters.map((c) => [c.name, c]));
const llm = clusters.get(hcm.route_config.virtual_hosts[0]!.routes[0]!.route.cluster)!;
const upstreamChain = llm.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']?.http_filters ?? [];

describe('deploy/envoy/envoy-upstream-filters.yaml', () => {
  it('runs the route phase downstream and the upstream phase in the routed cluster\'s upstream filters, before the codec', () => {
    expect(hcm.http_filters.map((f) => f.name)).toEqual(['envoy.filters.http.ext_proc', 'envoy.filters.http.router']);
    expect(upstreamChain.map((f) => f.name)).toEqual(['envoy.filters.http.ext_proc', 'envoy.filters.http.upstream_codec']);
    const up = upstreamChain[0]!.typed_config as unknown as ExtProc;
    expect(up.grpc_service.initial_metadata).toContainEqual({ key: PHASE_METADATA, value: 'upstream' });
    expect(up.request_attributes).toEqual([HOST_METADATA_ATTRIBUTE, CLUSTER_ATTRIBUTE]);
    expect(up.failure_mode_allow).toBe(false);
    expect(up.allow_mode_override).toBe(true);
    expect(clusters.has(up.grpc_service.envoy_grpc.cluster_name)).toBe(true);
    expect(hcm.route_config.virtual_hosts[0]!.include_attempt_count_in_request).toBe(true);
  });

  it('names, per priority, a backend of examples/ai-gateway.yaml of that priority', () => {
    const config = validateConfig(parse(readFileSync(`${ROOT}examples/ai-gateway.yaml`, 'utf8')), 'examples/ai-gateway.yaml');
    const backends = clusterMap(config);
    const localities = llm.load_assignment!.endpoints;
    expect(localities.length).toBe(config.upstreams.llm!.backends!.length);
    for (const l of localities) {
      for (const e of l.lb_endpoints) {
        const name = e.metadata?.filter_metadata?.praxis?.backend;
        const ref = backends.get(name ?? '');
        expect(ref, `praxis.backend ${name}`).toBeDefined();
        expect(config.upstreams.llm!.backends!.find((b) => b.name === ref!.backend)!.priority ?? 0).toBe(l.priority ?? 0);
      }
    }
  });
});
