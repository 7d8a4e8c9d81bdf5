/** Valid files of each import format: the starting points of the mutation fuzzers. */

const jsonl = (...rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;

export interface SeedFile {
  /** The import format's key. */
  readonly format: string;
  /** The file name's extension (table readers choose CSV or JSONL by it). */
  readonly ext: "jsonl" | "csv";
  readonly text: string;
}

const conv = (...turns: [string, string][]) => turns.map(([role, content]) => ({ role, content }));

export const IMPORT_SEEDS: readonly SeedFile[] = [
  {
    format: "judgments",
    ext: "jsonl",
    text: jsonl(
      {
        comparison_id: "c1",
        prompt: "What is 7 + 5?",
        response_a: "12",
        response_b: "13",
        rater_id: "alice",
        choice: "a",
        gold: "a",
        created_at: "2026-03-01T10:00:00Z",
        latency_ms: 5400,
      },
      {
        comparison_id: "c2",
        prompt: conv(["system", "be brief"], ["user", "hi"]),
        response_a: "héllo 👋",
        response_b: conv(["assistant", "hey"]),
        rater_id: "bob",
        choice: "tie",
        shown_order: "ba",
        rationale: "both fine",
        flags: ["unsafe_a"],
      },
      {
        comparison_id: "c1",
        prompt: "What is 7 + 5?",
        response_a: "12",
        response_b: "13",
        rater_id: "bob",
        choice: "b",
      },
    ),
  },
  {
    format: "trl",
    ext: "jsonl",
    text: jsonl(
      { prompt: "2+2?", chosen: "4", rejected: "5" },
      { prompt: "hi", chosen: "hello", rejected: "go away", weight: 0.5, margin: 1 },
      { prompt: "x", chosen: "y", rejected: "z", id: "row-3", rater_id: "carol" },
    ),
  },
  {
    format: "trl",
    ext: "jsonl",
    text: jsonl(
      {
        prompt: conv(["user", "capital of France?"]),
        chosen: conv(["assistant", "Paris"]),
        rejected: conv(["assistant", "Lyon"]),
      },
      {
        chosen: conv(["user", "hi"], ["assistant", "hello"]),
        rejected: conv(["user", "hi"], ["assistant", "no"]),
      },
    ),
  },
  {
    format: "hh-rlhf",
    ext: "jsonl",
    text: jsonl(
      {
        chosen: "\n\nHuman: What is 2+2?\n\nAssistant: 4",
        rejected: "\n\nHuman: What is 2+2?\n\nAssistant: 5",
      },
      {
        chosen: "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: bye\n\nAssistant: bye!",
        rejected: "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: bye\n\nAssistant: whatever",
      },
    ),
  },
  { format: "crowd-kit", ext: "csv", text: 'task,worker,label\nc1,w1,a\nc1,w2,b\n"c,2",w1,tie\n' },
  {
    format: "crowd-kit",
    ext: "jsonl",
    text: jsonl(
      { task: "c1", worker: "w1", label: "a" },
      { task: "c2", performer: "w2", label: "tie" },
    ),
  },
  {
    format: "crowd-kit-pairwise",
    ext: "csv",
    text: ',worker,left,right,label\n0,w1,x,y,x\n1,w2,y,z,z\n2,w1,"a ""q""",b,b\n',
  },
  {
    format: "crowd-kit-pairwise",
    ext: "jsonl",
    text: jsonl(
      { worker: "w1", left: "x", right: "y", label: "y" },
      { worker: 7, left: 1, right: 2, label: 1 },
    ),
  },
  { format: "gold", ext: "csv", text: "task,true_label\nc1,a\nc2,tie\n" },
  {
    format: "gold",
    ext: "jsonl",
    text: jsonl({ comparison_id: "c1", gold: "a" }, { task: "c2", true_label: "b" }),
  },
  {
    format: "raters",
    ext: "jsonl",
    text: jsonl(
      { rater_id: "alice", attributes: { team: "a", locale: "fr" } },
      { rater_id: "bob" },
      { rater_id: "alice", attributes: { locale: "fr", team: "a" } },
    ),
  },
];
