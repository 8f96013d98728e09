/**
 * `deno task bench`: every benchmark table, each beside a raw-hardware baseline measured in the
 * same run. `deno task bench codec storage` runs only the named ones.
 *
 * @module
 */

import { runCodecBench } from "./codec_bench.ts";
import { runStorageBench } from "./storage_bench.ts";
import { runBrokerBench } from "./broker_bench.ts";
import { runProduceBench } from "./produce_bench.ts";
import { runGroupBench } from "./group_bench.ts";
import { runFailoverBench } from "./failover_bench.ts";
import { runMetadataBench } from "./metadata_bench.ts";
import { runReplicationBench } from "./replication_bench.ts";
import { runTransactionsBench } from "./transactions_bench.ts";
import { runHttpOverheadBench } from "./http_overhead_bench.ts";
import { runSecurityBench } from "./security_bench.ts";

const BENCHES: Record<string, () => Promise<string>> = {
  codec: runCodecBench,
  storage: () => runStorageBench(),
  produce: runProduceBench,
  broker: () => runBrokerBench(),
  group: () => runGroupBench(),
  failover: () => runFailoverBench(),
  metadata: () => runMetadataBench(),
  replication: () => runReplicationBench(),
  transactions: () => runTransactionsBench(),
  http: () => runHttpOverheadBench(),
  security: () => runSecurityBench(),
};

const wanted = Deno.args.length > 0 ? Deno.args : Object.keys(BENCHES);
for (const name of wanted) {
  const bench = BENCHES[name];
  if (bench === undefined) {
    console.error(`Unknown bench ${name}; choose from ${Object.keys(BENCHES).join(", ")}`);
    Deno.exit(1);
  }
  console.log(`## ${name}\n`);
  console.log(await bench());
  console.log();
}
