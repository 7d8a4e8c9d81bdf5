// Writes one line to argv[2] through a TextSink (an export's writer), for durable.test.ts.
import { TextSink } from "../../src/io/files.js";

const sink = new TextSink(process.argv[2]!);
await sink.write("x\n");
await sink.commit();
