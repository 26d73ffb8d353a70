/**
 * `praxis-wasm/testing`: run a filter component's hooks on a request and its response, with
 * mocked sub-requests, and look at what it decided, changed, logged and called. See docs/testing.md.
 */
export { loadFilter, runFilter, ConfigureError } from './harness.ts';
export type { FilterTestOptions, FilterRunResult, TestFilter } from './harness.ts';
export type { KeyValueOptions, KeyValueView } from './keyvalue.ts';
export type { ClockOptions, TestClockControl } from './test-clock.ts';
export type { ExchangeInput, ExchangeResult, Step, Hook, LogLine, HeadersInput, BodyInput } from './hooks.ts';
export type { SubrequestMade } from './mocked-bridge.ts';
export { parseMocks, MockError } from './mocks.ts';
export type { MockRule, MockResponse, MockBody, MockErrorKind } from './mocks.ts';
export type { Action, FilterInfo, HeaderList } from '../component/types.ts';
