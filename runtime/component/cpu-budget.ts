/**
 * A hook's CPU budget in milliseconds, turned into fuel (fuel.ts counts instructions, roughly).
 * How many fuel units a millisecond buys depends on the machine, so the host measures it once
 * per process: it runs a small instrumented module (a loop calling a hashing step that loads,
 * stores, multiplies and branches: what header and body filters mostly do) for a few short
 * rounds, and takes the median rate of the rounds after warm-up (the median drops rounds the
 * scheduler interrupted). That is the rate of optimised code; a cold module runs in V8's
 * baseline tier (Liftoff) first, about three times slower on this mix, so the figure used is a
 * third of the median: a hook of this mix is stopped after about its budget even before
 * tier-up, and after about a third of it once optimised. docs/isolation.md has the
 * measurements and the error margin.
 */
import { parse } from '@bytecodealliance/jco';
import { FUEL_EXPORT, MAX_FUEL, withLoopFuel } from './fuel.ts';

/** Default CPU budget of one hook call. */
export const DEFAULT_CPU_BUDGET_MS = 50;
/** Optimised code runs about this much faster than baseline code (measured 3.2, see above). */
const BASELINE_FACTOR = 3;
const WARMUP_ROUNDS = 4;
const ROUNDS = 7;
/** Loop iterations per round: about 0.5 ms of optimised code on a 2024 server core. */
const ITERATIONS = 100_000;

const CALIBRATION_WAT = `(module
  (memory 1)
  (func $step (param $h i32) (param $i i32) (result i32)
    (i32.store8 (i32.and (local.get $i) (i32.const 4095)) (local.get $h))
    (i32.mul (i32.xor (local.get $h) (i32.load8_u (i32.and (i32.add (local.get $i) (i32.const 7)) (i32.const 4095))))
             (i32.const 16777619)))
  (func (export "run") (param $n i32) (result i32) (local $i i32) (local $h i32)
    (local.set $h (i32.const 0x811c9dc5))
    (loop $top
      (local.set $h (call $step (local.get $h) (local.get $i)))
      (if (i32.eqz (i32.and (local.get $h) (i32.const 1))) (then (local.set $h (i32.rotl (local.get $h) (i32.const 5)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $top (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $h)))`;

export interface Calibration {
  /** Fuel units one millisecond of hook time is worth (the conservative figure in use). */
  fuelPerMs: number;
  /** The median rate of optimised code the figure was derived from. */
  measuredFuelPerMs: number;
}

let calibration: Promise<Calibration> | undefined;

async function measure(): Promise<Calibration> {
  const fuel = withLoopFuel(await parse(CALIBRATION_WAT), { startFuel: MAX_FUEL });
  if (!fuel.instrumented) throw new Error(`the calibration module did not instrument: ${fuel.why}`);
  const { instance } = (await WebAssembly.instantiate(fuel.module as BufferSource)) as unknown as { instance: WebAssembly.Instance };
  const run = instance.exports.run as (n: number) => number;
  const global = instance.exports[FUEL_EXPORT] as WebAssembly.Global;
  const rates: number[] = [];
  for (let k = 0; k < WARMUP_ROUNDS + ROUNDS; k++) {
    global.value = MAX_FUEL;
    const t0 = performance.now();
    run(ITERATIONS);
    const ms = performance.now() - t0;
    if (k >= WARMUP_ROUNDS) rates.push((MAX_FUEL - (global.value as number)) / Math.max(ms, 0.001));
  }
  rates.sort((a, b) => a - b);
  const median = rates[rates.length >> 1]!;
  return { fuelPerMs: Math.floor(median / BASELINE_FACTOR), measuredFuelPerMs: Math.floor(median) };
}

/** This process's calibration, measured on first use (a few milliseconds) and kept. */
export function calibrate(): Promise<Calibration> {
  calibration ??= measure();
  return calibration;
}

/** The fuel a budget of `ms` milliseconds buys here, capped at what the fuel global can hold. */
export async function fuelForCpuBudget(ms: number): Promise<number> {
  const { fuelPerMs } = await calibrate();
  return Math.max(1, Math.min(Math.round(ms * fuelPerMs), MAX_FUEL));
}
