/**
 * The Envoy examples: the bootstrap wires the ext_proc filter to a gRPC (HTTP/2) cluster that
 * points at the ext_proc service's port, with the processing mode, timeouts and failure mode
 * set; the Envoy Gateway policy points at the Service in deploy/kubernetes/extproc.yaml.
 */
import { describe, expect, it } from 'vitest';
import { ofKind, type Service, yamlDocuments } from './manifests.ts';

interface Cluster {
  name: string;
  type?: string;
  typed_extension_protocol_options?: Record<string, { explicit_http_config?: { http2_protocol_options?: unknown } }>;
  load_assignment?: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string; port_value: number } } } }> }> };
  health_checks?: Array<{ grpc_health_check?: unknown }>;
  original_dst_lb_config?: { use_http_header?: boolean; http_header_name?: string };
}

interface HttpFilter { name: string; typed_config: Record<string, unknown> & { '@type': string } }

interface Bootstrap {
  static_resources: {
    listeners: Array<{ filter_chains: Array<{ filters: Array<{ typed_config: { http_filters: HttpFilter[]; route_config: { virtual_hosts: Array<{ routes: Array<{ route: { cluster: string } }> }> } } }> }> }>;
    clusters: Cluster[];
  };
}

const DURATION = /^\d+(\.\d+)?s$/;
const [bootstrap] = yamlDocuments('deploy/envoy/envoy.yaml') as Bootstrap[];
const httpFilters = bootstrap!.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.http_filters;
const clusters = new Map(bootstrap!.static_resources.clusters.map((c) => [c.name, c]));
const extprocService = ofKind<Service>(yamlDocuments('deploy/kubernetes/extproc.yaml'), 'Service')[0]!;
const grpcPort = extprocService.spec.ports.find((p) => p.name === 'grpc')!;

describe('deploy/envoy/envoy.yaml', () => {
  const extproc = httpFilters.find((f) => f.name === 'envoy.filters.http.ext_proc');
  const cfg = extproc?.typed_config as {
    '@type': string;
    grpc_service: { envoy_grpc: { cluster_name: string }; timeout?: string };
    failure_mode_allow: boolean;
    message_timeout: string;
    allow_mode_override: boolean;
    processing_mode: Record<string, string>;
  };

  it('has the ext_proc filter before the router, with its v3 type', () => {
    expect(extproc).toBeDefined();
    expect(cfg['@type']).toBe('type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor');
    expect(httpFilters.at(-1)!.name).toBe('envoy.filters.http.router');
    expect(httpFilters.indexOf(extproc!)).toBeLessThan(httpFilters.length - 1);
  });

  it('sets the processing mode, the message timeout and failure_mode_allow explicitly', () => {
    expect(typeof cfg.failure_mode_allow).toBe('boolean');
    expect(cfg.message_timeout).toMatch(DURATION);
    expect(cfg.processing_mode.request_header_mode).toBe('SEND');
    for (const k of ['response_header_mode', 'request_body_mode', 'response_body_mode']) {
      expect(['SEND', 'SKIP', 'DEFAULT', 'NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL', 'FULL_DUPLEX_STREAMED']).toContain(cfg.processing_mode[k]);
    }
    // praxis-wasm asks for the bodies its filters read through mode_override.
    expect(cfg.allow_mode_override).toBe(true);
  });

  it('points the gRPC service at an HTTP/2 cluster on the ext_proc Service\'s port, health-checked over gRPC', () => {
    const cluster = clusters.get(cfg.grpc_service.envoy_grpc.cluster_name);
    expect(cluster, 'the cluster ext_proc names').toBeDefined();
    const http = cluster!.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    expect(http?.explicit_http_config?.http2_protocol_options).toBeDefined();
    const endpoint = cluster!.load_assignment!.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address;
    expect(endpoint).toEqual({ address: extprocService.metadata.name, port_value: grpcPort.port });
    expect(cluster!.health_checks?.[0]?.grpc_health_check).toBeDefined();
  });

  it('every route names a defined cluster; a picked endpoint reaches an ORIGINAL_DST cluster by x-gateway-destination-endpoint', () => {
    const routes = bootstrap!.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts.flatMap((v) => v.routes);
    for (const r of routes) expect(clusters.has(r.route.cluster), r.route.cluster).toBe(true);
    const picked = [...clusters.values()].find((c) => c.type === 'ORIGINAL_DST');
    expect(picked?.original_dst_lb_config).toEqual({ use_http_header: true, http_header_name: 'x-gateway-destination-endpoint' });
  });
});

describe('deploy/envoy/envoy-extension-policy.yaml', () => {
  const docs = yamlDocuments('deploy/envoy/envoy-extension-policy.yaml');
  const [policy] = ofKind<{ apiVersion: string; kind: string; metadata: { name: string }; spec: {
    targetRefs: Array<{ group: string; kind: string; name: string }>;
    extProc: Array<{ backendRefs: Array<{ name: string; port: number }>; failOpen: boolean; messageTimeout: string; processingMode: { request?: object; response?: object; allowModeOverride?: boolean } }>;
  } }>(docs, 'EnvoyExtensionPolicy');

  it('is an Envoy Gateway EnvoyExtensionPolicy whose extProc backend is the praxis-wasm ext_proc Service', () => {
    expect(policy?.apiVersion).toBe('gateway.envoyproxy.io/v1alpha1');
    const [ext] = policy!.spec.extProc;
    expect(ext!.backendRefs).toEqual([{ name: extprocService.metadata.name, port: grpcPort.port }]);
    expect(typeof ext!.failOpen).toBe('boolean');
    expect(ext!.messageTimeout).toMatch(DURATION);
    expect(ext!.processingMode.request).toBeDefined();
    expect(ext!.processingMode.allowModeOverride).toBe(true);
  });

  it('targets a route defined beside it', () => {
    const [target] = policy!.spec.targetRefs;
    expect(target).toMatchObject({ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' });
    const routes = ofKind(docs, 'HTTPRoute').map((r) => r.metadata.name);
    expect(routes).toContain(target!.name);
  });
});
