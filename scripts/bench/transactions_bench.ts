/**
 * The cost of transactions (issue #10): one node, librdkafka (`txn_load_gen.py`) producing 1 KiB
 * records with acks=all and idempotence, plainly and inside transactions of 100 records each
 * (a commit = AddPartitionsToTxn, EndTxn, the coordinator's markers), in the same run, to the
 * same topic shape. Reports throughput, the ratio, and the commit latency.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { hasPythonModule, startNode } from "../../tests/integration/harness.ts";
import { Admin } from "../../net/client/admin.ts";

const LOAD_GEN = fileURLToPath(new URL("./txn_load_gen.py", import.meta.url));
const RECORD_BYTES = 1024;
const PER_TXN = 100;
const MIB = 1024 * 1024;

/** Options of {@link runTransactionsBench}. */
export interface TransactionsBenchOptions {
  /** Records per case (1 KiB each). */
  records?: number;
}

async function loadGen(args: string[]): Promise<Record<string, number>> {
  const out = await new Deno.Command("/usr/bin/python3", { args: [LOAD_GEN, ...args] }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) {
    throw new Error(`load generator failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const result = JSON.parse(text.split("\n").at(-1)!);
  if (result.errors > 0) throw new Error(`load generator saw ${result.errors} delivery errors`);
  return result;
}

/**
 * Runs the bench and returns its Markdown table.
 *
 * @example
 * ```ts ignore
 * console.log(await runTransactionsBench({ records: 20_000 }));
 * ```
 */
export async function runTransactionsBench(
  options: TransactionsBenchOptions = {},
): Promise<string> {
  if (!(await hasPythonModule("confluent_kafka"))) {
    return "transactions bench skipped: python3-confluent-kafka is not installed";
  }
  const records = options.records ?? 100_000;
  const node = await startNode();
  try {
    const admin = new Admin({ bootstrapServers: node.bootstrap });
    try {
      await admin.createTopics([
        { name: "bench-idem", numPartitions: 4 },
        { name: "bench-txn", numPartitions: 4 },
      ]);
    } finally {
      admin.close();
    }
    const common = [String(records), String(RECORD_BYTES), String(PER_TXN)];
    const idem = await loadGen(["idempotent", node.bootstrap, "bench-idem", ...common]);
    const txn = await loadGen(["transactional", node.bootstrap, "bench-txn", ...common]);
    const mbps = (r: Record<string, number>) => (r.records! * RECORD_BYTES) / MIB / r.seconds!;
    const rows = [
      "| case (1 KiB, acks=all, 4 partitions, one node) | MB/s | records/s |",
      "| --- | ---: | ---: |",
      `| idempotent produce | ${mbps(idem).toFixed(0)} | ${
        (idem.records! / idem.seconds!).toFixed(0)
      } |`,
      `| transactional, ${PER_TXN} records per transaction (commit p50 / p99: ${
        txn.txn_p50_ms!.toFixed(1)
      } / ${txn.txn_p99_ms!.toFixed(1)} ms) | ${mbps(txn).toFixed(0)} | ${
        (txn.records! / txn.seconds!).toFixed(0)
      } |`,
      `| transactional / idempotent | ${(mbps(txn) / mbps(idem)).toFixed(2)} | |`,
    ];
    return rows.join("\n");
  } finally {
    await node.stop();
  }
}

if (import.meta.main) console.log(await runTransactionsBench());
