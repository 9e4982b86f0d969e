// Run counts, seeds and the per-target summary line for the parser fuzz targets (issue 16 §1), shared so
// every target runs short under `npm test` and long under `npm run fuzz` the same way. See test/fuzz/README.md.
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';

/** `npm run fuzz` sets FUZZ_LONG=1: each target then gets FUZZ_INPUTS inputs (default 1 000 000, or the target's own). */
export const LONG = process.env.FUZZ_LONG === '1';
const INPUTS = positive(process.env.FUZZ_INPUTS);
/** Overrides every property's short run count (e.g. FUZZ_RUNS=20 while writing a property). */
const RUNS = positive(process.env.FUZZ_RUNS);
/** One seed per run, printed in the summary and in any failure report; FUZZ_SEED replays a run. */
const SEED = positive(process.env.FUZZ_SEED) ?? Math.floor(Math.random() * 0x7fffffff);

/** Most inputs per fc.check call (see fuzzTarget). */
const MAX_SLICE = 20_000;

function positive(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`expected a non-negative integer, got ${v}`);
  return n;
}

export interface FuzzOptions {
  /** Inputs in the short run (`npm test`); keep the whole file to a few seconds on a slow machine. */
  runs?: number;
  /** Share of the target's long-run budget, relative to its other properties (default 1). */
  weight?: number;
}

export interface TargetOptions {
  /**
   * The long run's inputs when FUZZ_INPUTS is not set (default 1 000 000): for a target whose input is a whole
   * dialogue with a gateway (milliseconds each), where a million would take hours.
   */
  longInputs?: number;
}

export interface FuzzTarget {
  /** One property: `check` returns false or throws to fail. Inputs are counted towards the target. */
  property<Ts extends [unknown, ...unknown[]]>(
    name: string,
    arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
    check: (...args: Ts) => boolean | void,
    opts?: FuzzOptions,
  ): void;
  /** The same for a check that returns a promise (e.g. a loader that reads files). */
  asyncProperty<Ts extends [unknown, ...unknown[]]>(
    name: string,
    arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
    check: (...args: Ts) => Promise<boolean | void>,
    opts?: FuzzOptions,
  ): void;
}

interface Definition {
  name: string;
  property: fc.IRawProperty<unknown>;
  opts: FuzzOptions;
}

/**
 * Declares one fuzz target (one parser): a describe block with one test per property, then prints
 * "<target>: N inputs, F failures (seed S)". Short run: each property's `runs` (default 1000) or
 * FUZZ_RUNS; long run: FUZZ_INPUTS spread over the properties by weight.
 */
export function fuzzTarget(target: string, define: (t: FuzzTarget) => void, opts: TargetOptions = {}): void {
  const budget = INPUTS ?? opts.longInputs ?? 1_000_000;
  const defs: Definition[] = [];
  define({
    property(name, arbitraries, check, opts = {}) {
      const prop = fc.property(...(arbitraries as unknown as [fc.Arbitrary<unknown>]), check as (...a: unknown[]) => boolean | void);
      defs.push({ name, property: prop as fc.IRawProperty<unknown>, opts });
    },
    asyncProperty(name, arbitraries, check, opts = {}) {
      const prop = fc.asyncProperty(...(arbitraries as unknown as [fc.Arbitrary<unknown>]), check as (...a: unknown[]) => Promise<boolean | void>);
      defs.push({ name, property: prop as fc.IRawProperty<unknown>, opts });
    },
  });
  const totalWeight = defs.reduce((sum, d) => sum + (d.opts.weight ?? 1), 0);
  let inputs = 0;
  let failures = 0;
  describe(`fuzz ${target}`, () => {
    for (const def of defs) {
      const short = RUNS ?? def.opts.runs ?? 1000;
      const numRuns = LONG ? Math.max(short, Math.ceil((budget * (def.opts.weight ?? 1)) / totalWeight)) : short;
      it(
        def.name,
        async () => {
          // A long run goes in slices of about a second with a turn of the event loop between them (a worker
          // busy for a minute misses vitest's RPC deadlines). Slice i runs from seed SEED+i; a short run with
          // that seed and the slice's size as FUZZ_RUNS replays it exactly. A short run is one slice.
          let size = LONG ? 100 : numRuns;
          for (let done = 0, slice = 0; done < numRuns; slice++) {
            const seed = (SEED + slice) | 0;
            const started = performance.now();
            const runs = Math.min(size, numRuns - done);
            const details = await fc.check(def.property, { numRuns: runs, seed });
            const took = performance.now() - started;
            if (LONG) size = took < 500 ? Math.min(size * 2, MAX_SLICE) : took > 2000 ? Math.max(1, Math.floor(size / 2)) : size;
            inputs += details.numRuns;
            done += details.numRuns;
            if (details.failed) {
              failures++;
              // What the property threw, when it threw (fast-check's report names the input only).
              const why = details.errorInstance instanceof Error ? `\n${details.errorInstance.message}` : '';
              throw new Error(`${target} / ${def.name}: ${fc.defaultReportMessage(details)}${why}\n(replay: FUZZ_SEED=${seed} FUZZ_RUNS=${runs})`);
            }
            if (details.numRuns === 0) break; // every input skipped by fc.pre: nothing more to gain
            await new Promise((resolve) => setImmediate(resolve));
          }
        },
        // A long run takes minutes; a short one is bounded by vitest's usual timeout.
        LONG ? 6 * 3600_000 : undefined,
      );
    }
    afterAll(() => {
      console.log(`${target}: ${inputs} inputs, ${failures} failures (seed ${SEED})`);
    });
  });
}

/** Cut points for a byte string: use with `chunks` to feed one input in random reads. */
export const cuts = (): fc.Arbitrary<number[]> => fc.array(fc.nat(), { maxLength: 24 });

/** Splits `bytes` at the given cut points (taken modulo its length, any order, duplicates giving empty reads). */
export function chunks(bytes: Uint8Array, at: readonly number[]): Buffer[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const points = [...new Set(at.map((c) => (buf.length === 0 ? 0 : c % (buf.length + 1))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(buf.subarray(from, p));
    from = p;
  }
  out.push(buf.subarray(from));
  return out;
}

/** Every way of cutting `bytes` in two, for "the same result whatever the split" properties. */
export function* splitsInTwo(bytes: Uint8Array): Generator<[Buffer, Buffer]> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i <= buf.length; i++) yield [buf.subarray(0, i), buf.subarray(i)];
}

/** Byte strings that are mostly `alphabet` tokens (the grammar's own pieces) with some raw bytes mixed in. */
export function tokenBytes(alphabet: readonly string[], opts: { maxTokens?: number } = {}): fc.Arbitrary<Buffer> {
  const token = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...alphabet).map((s) => Buffer.from(s, 'utf8')) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }).map((b) => Buffer.from(b)) },
  );
  return fc.array(token, { maxLength: opts.maxTokens ?? 40 }).map((parts) => Buffer.concat(parts));
}

/** Runs `fn`: its value, or what it threw (for properties that check which errors are allowed). */
export function outcome<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}
