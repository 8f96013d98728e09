import assert from "node:assert/strict";
import { formatLogLine, type LogEvent } from "./log.ts";

const EVENT: LogEvent = {
  time: "2024-01-01T00:00:00.000Z",
  level: "warn",
  component: "KafkaNode id=1",
  message: 'Topic "a\nb" is odd',
};

Deno.test("a JSON log line is one parseable object per event, even when the message holds a line feed", () => {
  const line = formatLogLine(EVENT, "json");
  assert.ok(!line.includes("\n"));
  assert.deepEqual(JSON.parse(line), {
    time: "2024-01-01T00:00:00.000Z",
    level: "WARN",
    logger: "KafkaNode id=1",
    message: 'Topic "a\nb" is odd',
  });
});

Deno.test("a text log line follows Kafka's [time] LEVEL [component] message pattern", () => {
  assert.equal(
    formatLogLine({ ...EVENT, message: "Started" }, "text"),
    "[2024-01-01T00:00:00.000Z] WARN [KafkaNode id=1] Started",
  );
});
