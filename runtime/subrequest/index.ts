export { SubrequestBridge } from './bridge.ts';
export type { SubrequestBridgeOptions, PluginSubrequestPolicy, SubrequestRecord, ParentRequest } from './options.ts';
export { DEFAULT_OPTIONS } from './options.ts';
export type { TraceContext } from './identity.ts';
export {
  parseTraceparent,
  startTrace,
  childTraceparent,
  DEPTH_HEADER,
  REQUEST_ID_HEADER,
  ATTEMPT_HEADER,
  TRACEPARENT_HEADER,
  isHopByHop,
  connectionTokens,
  stripHopByHop,
  responseHeaderList,
} from './identity.ts';
export { checkUrl, parseHostRule } from './policy.ts';
export type { HostResolver } from './address-guard.ts';
