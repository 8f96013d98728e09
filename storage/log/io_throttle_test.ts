import assert from "node:assert/strict";
import { IoThrottle } from "./io_throttle.ts";

function fakeClock() {
  const clock = {
    now: 0,
    slept: [] as number[],
    nowMs: () => clock.now,
    sleep: (ms: number) => {
      clock.slept.push(ms);
      clock.now += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

Deno.test("the cleaner's throttle sleeps off what ran faster than the bound, per check interval", async () => {
  const clock = fakeClock();
  const throttle = new IoThrottle(10_000, clock); // 10 kB/s
  // 100 ms per 1 kB read: within the first 300 ms nothing is checked.
  for (let i = 0; i < 3; i++) {
    clock.now += 100;
    await throttle.observe(1_000);
  }
  assert.deepEqual(clock.slept, []);
  clock.now += 100; // 4 kB in 400 ms is 10 kB/s: no sleep, a new interval starts
  await throttle.observe(1_000);
  assert.deepEqual(clock.slept, []);
  clock.now += 400; // 8 kB in 400 ms: 800 ms of reading at the bound, so 400 ms more
  await throttle.observe(8_000);
  assert.deepEqual(clock.slept, [400]);
});

Deno.test("without a bound (Kafka's Double.MAX_VALUE default) the throttle never sleeps", async () => {
  for (const bound of [Number.MAX_VALUE, Infinity, 0]) {
    const clock = fakeClock();
    const throttle = new IoThrottle(bound, clock);
    clock.now += 1_000;
    await throttle.observe(1e12);
    assert.deepEqual(clock.slept, [], String(bound));
  }
});
