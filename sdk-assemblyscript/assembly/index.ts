// praxis-wasm AssemblyScript SDK: what a plugin imports. See ../README.md.
export {
  Header, Headers, RequestInfo, RequestHead, ResponseHead, Mutations, Action, BodyMode, FilterInfo, HeaderHooks, ConfigResult,
  ACTION_CONTINUE, ACTION_REJECT, ACTION_RELEASE, ACTION_BODY_DONE, BODY_NONE, BODY_STREAM, BODY_STREAM_BUFFER,
} from "./types";
export { Filter, registerFilter } from "./filter";
export {
  Subrequest, Subresponse, SubrequestError, SubrequestResult, httpSubrequest, httpSubrequestAll,
  ERR_TIMEOUT, ERR_TOO_LARGE, ERR_DENIED, ERR_OVERLOADED, ERR_CANCELLED, ERR_CONNECT, ERR_PROTOCOL,
} from "./http";
export { context, log } from "./host";
export { clock } from "./clock";
export { keyvalue, KvError, KvResult, KV_UNAVAILABLE, KV_LIMIT, KV_DENIED, KV_INVALID } from "./keyvalue";
export { Json, JsonValue, JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } from "./json";
export { bytesToString, stringToBytes, concatBytes, bufferBody, bufferedLength } from "./body";
