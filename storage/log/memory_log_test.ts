import { runLogConformance } from "./log_conformance.ts";
import { MemoryLog } from "./memory_log.ts";

runLogConformance(
  "memory log",
  (config) => Promise.resolve({ log: new MemoryLog({ config }), cleanup: () => Promise.resolve() }),
);
