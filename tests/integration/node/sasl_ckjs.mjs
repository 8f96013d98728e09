// @confluentinc/kafka-javascript (librdkafka 2.15) over SASL_PLAINTEXT: produce and consume with
// the given mechanism, or report the error a wrong password gets.
// Usage: node sasl_ckjs.mjs <bootstrap> <mechanism> <user> <password> <topic>
// Prints one JSON line; the Deno test (sasl_test.ts) judges it.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ckjs = require("@confluentinc/kafka-javascript");
const { Kafka, logLevel } = ckjs.KafkaJS;

const [bootstrap, mechanism, username, password, topic] = process.argv.slice(2);
const kafka = new Kafka({
  kafkaJS: {
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    sasl: { mechanism: mechanism.toLowerCase(), username, password },
    connectionTimeout: 5000,
  },
});
const timer = setTimeout(() => {
  console.error("sasl_ckjs did not finish in 60 s");
  process.exit(3);
}, 60_000);
try {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: "a" }, { value: "b" }, { value: "c" }] });
  await producer.disconnect();
  const consumer = kafka.consumer({
    kafkaJS: { groupId: `ckjs-${mechanism}`, fromBeginning: true },
  });
  await consumer.connect();
  await consumer.subscribe({ topic });
  const got = [];
  await consumer.run({
    eachMessage: ({ message }) => {
      got.push(message.value.toString());
      return Promise.resolve();
    },
  });
  const deadline = Date.now() + 30_000;
  while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  console.log(JSON.stringify({ librdkafka: ckjs.librdkafkaVersion, consumed: got }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.message ?? error) }));
}
clearTimeout(timer);
process.exit(0);
