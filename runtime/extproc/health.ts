/**
 * The standard gRPC health service (`grpc.health.v1.Health`, Check), which Envoy's gRPC health
 * checks and Kubernetes' `grpc` probes call. Its two messages are one field each, so they are
 * encoded here by hand rather than by loading another proto tree.
 */
import * as grpc from '@grpc/grpc-js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

const STATUS_CODE: Record<ServingStatus, number> = { SERVING: 1, NOT_SERVING: 2 };

/** `HealthCheckRequest.service` (field 1, a string); unknown fields are skipped. */
export function decodeCheckRequest(buf: Buffer): { service: string } {
  let service = '';
  let i = 0;
  const varint = (): number => {
    let n = 0;
    let shift = 0;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated HealthCheckRequest');
      const b = buf[i++]!;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
      shift += 7;
      if (shift > 63) throw new Error('malformed varint in HealthCheckRequest');
    }
  };
  while (i < buf.length) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === 0) varint();
    else if (wire === 2) {
      const len = varint();
      if (i + len > buf.length) throw new Error('truncated HealthCheckRequest');
      if (tag >>> 3 === 1) service = buf.toString('utf8', i, i + len);
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported wire type ${wire} in HealthCheckRequest`);
  }
  return { service };
}

/** `HealthCheckRequest { service = 1 }` (for clients: probes, tests). */
export function encodeCheckRequest(r: { service: string }): Buffer {
  const name = Buffer.from(r.service, 'utf8');
  const len: number[] = [];
  for (let n = name.length; ; n >>>= 7) {
    if (n < 0x80) { len.push(n); break; }
    len.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...len]), name]);
}

/** `HealthCheckResponse { status = 1 }`. */
export function encodeCheckResponse(status: number): Buffer {
  return Buffer.from([0x08, status]);
}

export const HEALTH_SERVICE: grpc.ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeCheckRequest,
    requestDeserialize: decodeCheckRequest,
    responseSerialize: (r: { status: number }) => encodeCheckResponse(r.status),
    responseDeserialize: (b: Buffer) => ({ status: b.length >= 2 && b[0] === 0x08 ? b[1]! : 0 }),
  },
};

/**
 * The handlers: `""` (the server) and each named service answer their status; any other name is
 * NOT_FOUND, as the protocol asks.
 */
export function healthHandlers(status: (service: string) => ServingStatus | undefined): grpc.UntypedServiceImplementation {
  return {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, { status: number }>, callback: grpc.sendUnaryData<{ status: number }>) => {
      const s = status(call.request.service);
      if (s === undefined) return callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      callback(null, { status: STATUS_CODE[s] });
    },
  };
}
