/**
 * The Kubernetes manifests: every document parses and has what the cluster needs (probes on the
 * admin port, resources, a non-root read-only pod with a writable glue cache), and the
 * praxis.yaml in each ConfigMap is a valid config whose plugins exist and accept their config.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../runtime/config/load.ts';
import { compilePluginSchema, pluginConfigProblems } from '../../runtime/config/plugin-config.ts';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { ROOT } from '../helpers/servers.ts';
import { type ConfigMap, type Container, type Deployment, type K8sObject, type Probe, type Service, ofKind, yamlDocuments } from './manifests.ts';

/** Where the image installs the package (deploy/docker/Dockerfile): plugin paths map back to the checkout. */
const PACKAGE_DIR = '/opt/praxis-wasm/';

function portOf(c: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = c.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`container ${c.name} has no port named ${port}`);
  return named.containerPort;
}

function probePort(c: Container, p: Probe): number {
  if (p.grpc) return p.grpc.port;
  return portOf(c, p.httpGet!.port);
}

/** The plugins a config names exist in the package and accept their config (the plugin's own schema). */
function checkPlugins(config: GatewayConfig): void {
  for (const [name, plugin] of Object.entries(config.plugins ?? {})) {
    expect(plugin.path.startsWith(PACKAGE_DIR), `${name}: ${plugin.path} lies in the package`).toBe(true);
    const rel = plugin.path.slice(PACKAGE_DIR.length);
    const m = /^plugins\/([^/]+)\/dist\/\1\.wasm$/.exec(rel);
    expect(m, `${name}: ${rel} is a bundled plugin's component`).not.toBeNull();
    const schema = `${ROOT}plugins/${m![1]}/schema.json`;
    expect(existsSync(schema), schema).toBe(true);
    expect(pluginConfigProblems(name, compilePluginSchema(readFileSync(schema, 'utf8')), plugin.config)).toEqual([]);
  }
}

interface Face {
  file: string;
  /** Where the ConfigMap's config says the service listens. */
  servingPort: (c: GatewayConfig) => number;
  readiness: 'http' | 'grpc';
}

const FACES: Record<string, Face> = {
  gateway: { file: 'deploy/kubernetes/gateway.yaml', servingPort: (c) => c.listen?.port ?? 8080, readiness: 'http' },
  extproc: { file: 'deploy/kubernetes/extproc.yaml', servingPort: (c) => (c as GatewayConfig & { extproc?: { port?: number } }).extproc?.port ?? 9002, readiness: 'grpc' },
};

describe.each(Object.entries(FACES))('deploy/kubernetes: %s', (_face, { file, servingPort, readiness }) => {
  const docs = yamlDocuments(file);
  const [deployment] = ofKind<Deployment>(docs, 'Deployment');
  const services = ofKind<Service>(docs, 'Service');
  const [configMap] = ofKind<ConfigMap>(docs, 'ConfigMap');

  it('every document names its apiVersion, kind and metadata.name; one Deployment, a Service, a ConfigMap', () => {
    for (const d of docs as K8sObject[]) {
      expect(d.apiVersion, file).toMatch(/^(v1|apps\/v1)$/);
      expect(d.metadata?.name, `${file}: ${d.kind}`).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    expect(ofKind(docs, 'Deployment')).toHaveLength(1);
    expect(services.length).toBeGreaterThanOrEqual(1);
    expect(configMap?.data['praxis.yaml']).toBeTypeOf('string');
  });

  it('its praxis.yaml is a valid config whose plugins ship in the image and accept their config', () => {
    const config = validateConfig(parseYaml(configMap!.data['praxis.yaml']!), `${file} ConfigMap praxis.yaml`);
    expect(config.admin?.host).toBe('0.0.0.0');
    checkPlugins(config);
  });

  it('the Deployment runs the config from the ConfigMap, probes the admin port, and has resources', () => {
    const { spec } = deployment!;
    for (const [k, v] of Object.entries(spec.selector.matchLabels)) expect(spec.template.metadata.labels[k]).toBe(v);
    const pod = spec.template.spec;
    const [c] = pod.containers;
    const config = validateConfig(parseYaml(configMap!.data['praxis.yaml']!));
    // --config points into the mounted ConfigMap.
    const configVolume = pod.volumes!.find((v) => v.configMap?.name === configMap!.metadata.name)!;
    const mount = c!.volumeMounts!.find((m) => m.name === configVolume.name)!;
    expect(c!.args).toContain('--config');
    expect(c!.args![c!.args!.indexOf('--config') + 1]).toBe(`${mount.mountPath}/praxis.yaml`);
    expect(c!.args![0]).toBe(readiness === 'grpc' ? 'extproc' : 'run');
    // Ports: the serving port and the admin port the config names.
    const ports = c!.ports!.map((p) => p.containerPort);
    expect(ports).toContain(servingPort(config));
    expect(ports).toContain(config.admin!.port);
    // Liveness: /healthz on the admin port. Readiness: /readyz there, or the gRPC health service.
    expect(c!.livenessProbe!.httpGet!.path).toBe('/healthz');
    expect(probePort(c!, c!.livenessProbe!)).toBe(config.admin!.port);
    if (readiness === 'http') {
      expect(c!.readinessProbe!.httpGet!.path).toBe('/readyz');
      expect(probePort(c!, c!.readinessProbe!)).toBe(config.admin!.port);
    } else {
      expect(probePort(c!, c!.readinessProbe!)).toBe(servingPort(config));
      expect(c!.readinessProbe!.grpc).toBeDefined();
    }
    for (const kind of ['requests', 'limits'] as const) {
      expect(c!.resources?.[kind]?.cpu, `resources.${kind}.cpu`).toBeTruthy();
      expect(c!.resources?.[kind]?.memory, `resources.${kind}.memory`).toBeTruthy();
    }
  });

  it('runs as non-root on a read-only root filesystem, with the glue cache on an emptyDir at $XDG_CACHE_HOME', () => {
    const pod = deployment!.spec.template.spec;
    const c = pod.containers[0]!;
    expect(pod.securityContext?.runAsNonRoot ?? c.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser ?? c.securityContext?.runAsUser).not.toBe(0);
    expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
    const cacheDir = c.env?.find((e) => e.name === 'XDG_CACHE_HOME')?.value;
    expect(cacheDir).toMatch(/^\//);
    const mount = c.volumeMounts!.find((m) => m.mountPath === cacheDir);
    expect(mount, 'a volume mounted at XDG_CACHE_HOME').toBeDefined();
    expect(mount!.readOnly).not.toBe(true);
    expect(pod.volumes!.find((v) => v.name === mount!.name)?.emptyDir).toBeDefined();
  });

  it('its Services select the Deployment\'s pods and target ports the container declares', () => {
    const c = deployment!.spec.template.spec.containers[0]!;
    const labels = deployment!.spec.template.metadata.labels;
    const config = validateConfig(parseYaml(configMap!.data['praxis.yaml']!));
    const targets: number[] = [];
    for (const s of services) {
      for (const [k, v] of Object.entries(s.spec.selector)) expect(labels[k], `${s.metadata.name} selects ${k}`).toBe(v);
      for (const p of s.spec.ports) targets.push(portOf(c, p.targetPort));
    }
    expect(targets).toContain(servingPort(config));
    if (readiness === 'grpc') {
      const grpc = services.flatMap((s) => s.spec.ports).find((p) => portOf(c, p.targetPort) === servingPort(config))!;
      expect(grpc.appProtocol).toBe('kubernetes.io/h2c');
    }
  });
});

describe('deploy/kubernetes/kustomization.yaml', () => {
  it('lists every manifest, each of which exists', () => {
    const [k] = yamlDocuments('deploy/kubernetes/kustomization.yaml') as Array<{ kind: string; resources: string[] }>;
    expect(k!.kind).toBe('Kustomization');
    expect(k!.resources.sort()).toEqual(['extproc.yaml', 'gateway.yaml']);
    for (const r of k!.resources) expect(existsSync(`${ROOT}deploy/kubernetes/${r}`)).toBe(true);
  });
});
