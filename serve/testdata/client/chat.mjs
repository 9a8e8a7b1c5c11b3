// A 20-turn streamed conversation through the official OpenAI SDK, run by
// go test ./serve (TestOpenAISDKConversation). Usage:
//   node chat.mjs BASE_URL MODEL SEED MAX_TOKENS TURNS_FILE
// Each turn sends the whole history (as every OpenAI client does) with
// stream: true; prints {"replies": [...], "cache": usage.cache of the last turn}.
import fs from "node:fs";
import OpenAI from "openai";

const [baseURL, model, seed, maxTokens, turnsFile] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "sinktrain-needs-no-key", maxRetries: 0 });
const turns = fs.readFileSync(turnsFile, "utf8").split("\n").filter((l) => l.trim() !== "");
const messages = [];
const replies = [];
let cache = null;
for (const turn of turns) {
  messages.push({ role: "user", content: turn });
  const stream = await client.chat.completions.create({
    model, messages, stream: true, stream_options: { include_usage: true },
    seed: Number(seed), max_tokens: Number(maxTokens), temperature: 0.8, top_k: 40,
  });
  let reply = "";
  let sawRole = false, finish = null;
  for await (const chunk of stream) {
    if (chunk.object !== "chat.completion.chunk") throw new Error("chunk object " + chunk.object);
    if (chunk.choices.length > 0) {
      const c = chunk.choices[0];
      if (c.delta.role === "assistant") sawRole = true;
      if (c.delta.content) reply += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
    if (chunk.usage) cache = chunk.usage.cache;
  }
  if (!sawRole || !finish) throw new Error(`turn ${replies.length}: role chunk ${sawRole}, finish_reason ${finish}`);
  messages.push({ role: "assistant", content: reply });
  replies.push(reply);
}
process.stdout.write(JSON.stringify({ replies, cache }));
