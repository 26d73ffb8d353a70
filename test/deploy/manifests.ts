/** Reading the deployment files for the tests: Kubernetes documents, a Dockerfile's instructions. */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../helpers/servers.ts';

/** The few Kubernetes fields the checks read; everything else stays `unknown`. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
  grpc?: { port: number; service?: string };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; runAsUser?: number };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}

export interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: Array<{ name: string; configMap?: { name: string }; emptyDir?: Record<string, unknown> }>;
}

export interface Deployment extends K8sObject {
  spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}

export interface Service extends K8sObject {
  spec: { selector: Record<string, string>; ports: Array<{ name?: string; port: number; targetPort: number | string; appProtocol?: string }> };
}

export interface ConfigMap extends K8sObject {
  data: Record<string, string>;
}

/** Every document of a YAML file under the repository root; a parse error fails the caller. */
export function yamlDocuments(path: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(`${ROOT}${path}`, 'utf8'));
  return docs.map((d) => {
    if (d.errors.length) throw new Error(`${path}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as unknown;
  });
}

export function ofKind<T extends K8sObject>(docs: unknown[], kind: string): T[] {
  return docs.filter((d): d is T => typeof d === 'object' && d !== null && (d as K8sObject).kind === kind);
}

export interface Instruction { keyword: string; args: string; stage: number }

/**
 * A Dockerfile's instructions in order (continuation lines joined, comments dropped, keyword
 * upper-cased), each tagged with its build stage (0 for what precedes the first FROM).
 */
export function dockerInstructions(text: string): Instruction[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (pending && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    lines.push(pending + line);
    pending = '';
  }
  if (pending) lines.push(pending);
  let stage = 0;
  return lines.map((l) => {
    const m = /^(\S+)\s*(.*)$/s.exec(l)!;
    const keyword = m[1]!.toUpperCase();
    if (keyword === 'FROM') stage++;
    return { keyword, args: m[2]!.trim(), stage };
  });
}

/** `${NAME}` and `$NAME` in `value` from the ARG defaults declared before the first FROM. */
export function expandArgs(value: string, instructions: Instruction[]): string {
  const defaults = new Map<string, string>();
  for (const i of instructions) {
    if (i.keyword !== 'ARG' || i.stage !== 0) continue;
    const [name, ...rest] = i.args.split('=');
    if (rest.length) defaults.set(name!, rest.join('='));
  }
  return value.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => defaults.get(name) ?? whole);
}
