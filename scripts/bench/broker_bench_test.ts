import assert from "node:assert/strict";
import { runBrokerBench } from "./broker_bench.ts";
import { hasCommand, hasPythonModule } from "../../tests/integration/harness.ts";

function shmBenchDirs(): Set<string> {
  try {
    return new Set(
      [...Deno.readDirSync("/dev/shm")].map((e) => e.name).filter((n) =>
        n.startsWith("kraftling-bench-")
      ),
    );
  } catch {
    return new Set();
  }
}

// Issue #13: every target has its row, a baseline from the same run and a ratio. Few records
// keep it short; no absolute number is asserted (the machine is shared).
Deno.test({
  name: "the broker bench measures every issue #13 target beside a baseline from the same run",
  ignore: !hasPythonModule("confluent_kafka"),
  fn: async () => {
    const before = shmBenchDirs();
    const output = await runBrokerBench({ records: 2000 });
    for (
      const row of [
        "| produce 1 KiB acks=all, 8 partitions",
        "| p99 produce latency, 1 KiB acks=all linger.ms=1",
        "| p99 produce latency at 20000 records/s",
        "| consume ",
        "| (reference) librdkafka (confluent-kafka) consuming",
        "| produce 100 B records acks=all",
        "| producer-perf-test (our client), acks=1, 1 partition, beside librdkafka",
        "| consumer-perf-test (our client), 8 partitions, beside librdkafka",
        "| start-up: process spawn to first Metadata response",
        "| peak RSS of the node after every case above (VmHWM) | ",
      ]
    ) {
      assert.ok(output.includes(row), `no row "${row}" in:\n${output}`);
    }
    if (hasCommand("kcat")) {
      assert.ok(
        output.includes("| (reference) the same with kcat -P"),
        `no kcat row in:\n${output}`,
      );
    }
    assert.ok(!output.includes("failed:"), `a case failed:\n${output}`);
    assert.match(output, /\(VmHWM\) \| \d+ MiB \|/, "the node's peak RSS is reported");
    const measured = output.split("\n").filter((line) => /\| (yes|no) \|$/.test(line));
    assert.equal(measured.length, 7, `expected 7 measured targets in:\n${output}`);
    const left = [...shmBenchDirs()].filter((n) => !before.has(n));
    assert.deepEqual(left, [], "the bench left directories in /dev/shm");
  },
});
