/**
 * Envoy's ext_proc API, loaded from the protos `@grpc/grpc-js-xds` ships (deps/envoy-api and the
 * three trees it imports), so the wire format is Envoy's own and never a hand-copied subset.
 * Loaded once per process: parsing the tree takes a few hundred ms.
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const SERVICE_PROTO = 'envoy/service/ext_proc/v3/external_processor.proto';

/** Where the proto trees live: next to the installed package, wherever npm put it. */
export function protoIncludeDirs(): string[] {
  const root = dirname(createRequire(import.meta.url).resolve('@grpc/grpc-js-xds/package.json'));
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(root, 'deps', d));
}

/**
 * Decoding options shared by the server and test clients: field names in camelCase, enums as
 * their names, 64-bit integers as strings, and `oneofs` so a message says which branch it holds.
 */
export const LOADER_OPTIONS: protoLoader.Options = { longs: String, enums: String, defaults: false, oneofs: true };

let cached: grpc.GrpcObject | undefined;

/** The loaded package tree (`envoy.service.ext_proc.v3.ExternalProcessor` and everything it uses). */
export function extProcPackage(): grpc.GrpcObject {
  if (cached) return cached;
  const def = protoLoader.loadSync(SERVICE_PROTO, { ...LOADER_OPTIONS, includeDirs: protoIncludeDirs() });
  cached = grpc.loadPackageDefinition(def);
  return cached;
}

/** The ExternalProcessor service constructor (also a client class, for tests and tools). */
export function externalProcessorService(): grpc.ServiceClientConstructor {
  const pkg = extProcPackage() as unknown as { envoy: { service: { ext_proc: { v3: { ExternalProcessor: grpc.ServiceClientConstructor } } } } };
  return pkg.envoy.service.ext_proc.v3.ExternalProcessor;
}
