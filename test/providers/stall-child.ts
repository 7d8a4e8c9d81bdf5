/**
 * A child for http-timeout.test.ts: an upstream that sends an event stream's headers and then
 * nothing, a provider call with a
 * 1 s timeout and a caller's abort signal, and garbage collections all the while (run with
 * --expose-gc). Prints the outcome as JSON; exits 3 if the call is still pending after 20 s.
 */
import { createServer } from "node:http";
import { OpenAiProvider, parseOpenAiConfig } from "../../src/providers/openai.js";

const server = createServer((_req, res) => {
  // Headers of an event stream, then nothing.
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.flushHeaders();
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const port = (server.address() as { port: number }).port;
const provider = new OpenAiProvider(
  parseOpenAiConfig({
    base_url: `http://127.0.0.1:${port}/v1`,
    model: "m",
    timeout_ms: 1000,
    retries: 0,
  }),
);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");
const collect = setInterval(gc, 50);
const watchdog = setTimeout(() => {
  process.stdout.write(JSON.stringify({ pending: true }));
  process.exit(3);
}, 20_000);
const caller = new AbortController();
let error = "";
for await (const ev of provider.stream({ prompt: "hi", signal: caller.signal }))
  if (ev.type === "error") error = ev.error.message;
clearTimeout(watchdog);
clearInterval(collect);
process.stdout.write(JSON.stringify({ error }));
server.closeAllConnections();
server.close();
