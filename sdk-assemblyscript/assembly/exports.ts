// The core exports of a praxis filter. The build compiles this file as a second entry next to
// the plugin's assembly/index.ts and renames these identifiers to the canonical names of
// docs/abi.md (e.g. praxis_on_request_headers -> praxis:filter/filter@0.2.0#on-request-headers).
import { RequestInfo, RequestHead, ResponseHead } from "./types";
import { liftString, liftBytes, liftHeaders, lowerAction, lowerConfigResult } from "./abi";
import { arenaMark, enterCall, leaveCall, postReturn, realloc } from "./arena";
import { theFilter } from "./filter";
import "./abort"; // loaded for --use abort=.../praxisAbort

function info(idPtr: usize, idLen: usize, attempt: u32, routePtr: usize, routeLen: usize): RequestInfo {
  return new RequestInfo(liftString(idPtr, idLen), attempt, liftString(routePtr, routeLen));
}

export function praxis_configure(ptr: usize, len: usize): usize {
  enterCall();
  const ret = lowerConfigResult(theFilter().configure(liftString(ptr, len)));
  // What configure built (the filter and its parsed config) must outlive every later call.
  arenaMark();
  leaveCall();
  return ret;
}

export function praxis_on_request_headers(
  idPtr: usize, idLen: usize, attempt: u32, routePtr: usize, routeLen: usize,
  methodPtr: usize, methodLen: usize, pathPtr: usize, pathLen: usize,
  authPtr: usize, authLen: usize, headersPtr: usize, headersLen: usize,
): usize {
  enterCall();
  const head = new RequestHead(liftString(methodPtr, methodLen), liftString(pathPtr, pathLen), liftString(authPtr, authLen), liftHeaders(headersPtr, headersLen));
  const ret = lowerAction(theFilter().onRequestHeaders(info(idPtr, idLen, attempt, routePtr, routeLen), head));
  leaveCall();
  return ret;
}

export function praxis_on_request_body(
  idPtr: usize, idLen: usize, attempt: u32, routePtr: usize, routeLen: usize,
  chunkPtr: usize, chunkLen: usize, endOfStream: u32,
): usize {
  enterCall();
  const i = info(idPtr, idLen, attempt, routePtr, routeLen);
  const ret = lowerAction(theFilter().onRequestBody(i, liftBytes(chunkPtr, chunkLen), endOfStream != 0));
  leaveCall();
  return ret;
}

export function praxis_on_response_headers(
  idPtr: usize, idLen: usize, attempt: u32, routePtr: usize, routeLen: usize,
  status: u32, headersPtr: usize, headersLen: usize,
): usize {
  enterCall();
  const head = new ResponseHead(<u16>status, liftHeaders(headersPtr, headersLen));
  const ret = lowerAction(theFilter().onResponseHeaders(info(idPtr, idLen, attempt, routePtr, routeLen), head));
  leaveCall();
  return ret;
}

export function praxis_on_response_body(
  idPtr: usize, idLen: usize, attempt: u32, routePtr: usize, routeLen: usize,
  chunkPtr: usize, chunkLen: usize, endOfStream: u32,
): usize {
  enterCall();
  const i = info(idPtr, idLen, attempt, routePtr, routeLen);
  const ret = lowerAction(theFilter().onResponseBody(i, liftBytes(chunkPtr, chunkLen), endOfStream != 0));
  leaveCall();
  return ret;
}

// Results live in the arena; post-return drops the whole call's arena at once.
export function cabi_post_praxis_configure(ret: usize): void { postReturn(); }
export function cabi_post_praxis_on_request_headers(ret: usize): void { postReturn(); }
export function cabi_post_praxis_on_request_body(ret: usize): void { postReturn(); }
export function cabi_post_praxis_on_response_headers(ret: usize): void { postReturn(); }
export function cabi_post_praxis_on_response_body(ret: usize): void { postReturn(); }

export function cabi_realloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  return realloc(oldPtr, oldSize, align, newSize);
}
