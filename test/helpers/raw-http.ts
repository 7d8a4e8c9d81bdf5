/**
 * Raw HTTP over a socket, for tests whose point is the connection itself (timeouts, shutdown,
 * what Node answers before Fastify sees a request): a connection that keeps every byte it
 * receives, and the parse of one whole answer.
 */
import { connect, type Socket } from "node:net";
import { afterEach } from "vitest";

const opened: Socket[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

/**
 * A raw connection to 127.0.0.1:`port` whose every byte received is kept in `text()` (it reads:
 * a paused socket would never see the server close it); destroyed after the test.
 */
export function rawConnection(port: number) {
  const s = connect(port, "127.0.0.1");
  opened.push(s);
  let got = "";
  s.on("data", (d: Buffer) => {
    got += d.toString();
  });
  s.on("error", () => undefined);
  const closed = new Promise<void>((r) => s.once("close", () => r()));
  return { s, text: () => got, closed };
}

/** One whole HTTP answer: its status, its head lowercased, its JSON body. */
export function parseRawAnswer(response: string): {
  status: number;
  headers: string;
  body: unknown;
} {
  const [head, body] = response.split("\r\n\r\n", 2) as [string, string];
  return {
    status: Number(head.split(" ")[1]),
    headers: head.toLowerCase(),
    body: JSON.parse(body),
  };
}
