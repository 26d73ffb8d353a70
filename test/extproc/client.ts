/**
 * A gRPC client for the ext_proc service built from Envoy's own protos, driving a stream the way
 * Envoy does: one message, then wait for its answer, then the next (an immediate response ends it).
 */
import * as grpc from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import type { HeaderList } from '../../runtime/component/types.ts';
import { HEALTH_SERVICE } from '../../runtime/extproc/health.ts';
import type { HeaderMutation, HttpHeaders, ProcessingRequest, ProcessingResponse } from '../../runtime/extproc/messages.ts';
import { extProcPackage, externalProcessorService } from '../../runtime/extproc/protos.ts';
import { type ExtProcServer, startExtProc } from '../../runtime/extproc/server.ts';
import { type LogLine, ROOT } from '../helpers/servers.ts';

export interface TestExtProc extends ExtProcServer {
  logs: LogLine[];
  client: grpc.Client;
}

export async function startTestExtProc(config: GatewayConfig): Promise<TestExtProc> {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  const server = await startExtProc(config, { logger: pino({ level: 'debug' }, sink), port: 0, host: '127.0.0.1', cacheDir: `${ROOT}.praxis-cache` });
  const Client = externalProcessorService();
  const client = new Client(server.address, grpc.credentials.createInsecure());
  const close = server.close.bind(server);
  return Object.assign(server, { logs, client, close: async () => { client.close(); await close(); } });
}

type Duplex = grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>;

/** An open Process stream: `send` one message and get its answer. */
export class EnvoyStream {
  readonly call: Duplex;
  private readonly answers: ProcessingResponse[] = [];
  private waiting: ((r: ProcessingResponse | Error) => void) | undefined;
  error: grpc.ServiceError | undefined;
  ended = false;

  /** `metadata`: the gRPC metadata Envoy sends from the filter's `grpc_service.initial_metadata`. */
  constructor(client: grpc.Client, metadata?: grpc.Metadata) {
    this.call = (client as unknown as { process: (m?: grpc.Metadata) => Duplex }).process(metadata);
    this.call.on('data', (r: ProcessingResponse) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(r);
      } else this.answers.push(r);
    });
    this.call.on('error', (err: grpc.ServiceError) => {
      this.error = err;
      this.waiting?.(err);
    });
    this.call.on('end', () => { this.ended = true; });
  }

  send(msg: ProcessingRequest): Promise<ProcessingResponse> {
    this.call.write(msg);
    const queued = this.answers.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      this.waiting = (r) => (r instanceof Error ? reject(r) : resolve(r));
    });
  }

  /** Envoy's half-close after its last message. */
  end(): void {
    this.call.end();
  }
}

/** Envoy's request-headers message (pseudo-headers first, values as raw_value like Envoy >= 1.27). */
export function requestHeaders(path: string, headers: HeaderList = [], opts: { method?: string; authority?: string; endOfStream?: boolean } = {}): ProcessingRequest {
  const all: HeaderList = [[':method', opts.method ?? 'GET'], [':path', path], [':authority', opts.authority ?? 'example.test'], [':scheme', 'http'], ...headers];
  return { requestHeaders: { headers: { headers: all.map(([key, v]) => ({ key, rawValue: Buffer.from(v) })) }, endOfStream: opts.endOfStream ?? true } satisfies HttpHeaders };
}

export function responseHeaders(status: number, headers: HeaderList = [], endOfStream = true): ProcessingRequest {
  const all: HeaderList = [[':status', String(status)], ...headers];
  return { responseHeaders: { headers: { headers: all.map(([key, v]) => ({ key, rawValue: Buffer.from(v) })) }, endOfStream } };
}

export function body(direction: 'request' | 'response', text: string, endOfStream: boolean): ProcessingRequest {
  const b = { body: Buffer.from(text), endOfStream };
  return direction === 'request' ? { requestBody: b } : { responseBody: b };
}

/** A header mutation as name -> values set (in order), and the names removed. */
export function mutationOf(m: HeaderMutation | undefined): { set: Record<string, string[]>; remove: string[] } {
  const set: Record<string, string[]> = {};
  for (const o of m?.setHeaders ?? []) {
    const v = o.header.rawValue && o.header.rawValue.length ? Buffer.from(o.header.rawValue).toString('latin1') : (o.header.value ?? '');
    (set[o.header.key] ??= []).push(v);
  }
  return { set, remove: m?.removeHeaders ?? [] };
}

/** grpc.health.v1.Health/Check for `service`. */
export function healthCheck(address: string, service: string): Promise<{ status: number } | grpc.ServiceError> {
  const Health = grpc.makeGenericClientConstructor(HEALTH_SERVICE, 'Health');
  const c = new Health(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Check: (req: { service: string }, cb: (err: grpc.ServiceError | null, r: { status: number }) => void) => void };
  return new Promise((resolve) => c.Check({ service }, (err, r) => { c.close(); resolve(err ?? r); }));
}

/** The HTTP status of an immediate response (the client decodes Envoy's StatusCode enum by name). */
export function immediateStatus(r: ProcessingResponse): number | undefined {
  const code: unknown = r.immediateResponse?.status?.code;
  if (code === undefined || typeof code === 'number') return code;
  const pkg = extProcPackage() as unknown as { envoy: { type: { v3: { StatusCode: { type: { value: Array<{ name: string; number: number }> } } } } } };
  return pkg.envoy.type.v3.StatusCode.type.value.find((v) => v.name === code)?.number;
}
