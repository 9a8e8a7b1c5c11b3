// Package serve is sinktrain's OpenAI-compatible HTTP server (sinktrain
// serve): endless multi-round conversations, each with its own bounded
// StreamingLLM cache (K sinks + a window of W tokens, positions inside the
// cache), so a conversation of any length costs the same per token.
//
// Routes (Server.Handler): POST /v1/chat/completions and POST
// /v1/completions, streamed as server-sent events exactly as OpenAI sends
// them ("data: {chunk}\n\n" …, "data: [DONE]\n\n": a chat stream starts
// with a chunk whose delta has the role, then content deltas, then a chunk
// with finish_reason, then with stream_options.include_usage a chunk with
// empty choices and the usage) or as one JSON body; GET /v1/models; GET
// /healthz; GET /metrics (Prometheus text); GET / (the chat page, one
// embedded HTML file). Errors are OpenAI's {"error": {message, type, param,
// code}} with status 400 (bad field), 404 (unknown model or route), 413
// (body too large), 422 (a conversation the template refuses, a session
// file that cannot be restored), 429 (queue full), 503 (timeout or
// shutdown), 500.
//
// Sessions. A Conversation reads text and generates replies on one
// infer.Session; it keeps the SHA-256 of all the text it has read. A chat
// request whose last assistant message is a reply this server generated is
// matched to its conversation by the hash of render(messages before that
// reply, generation prompt) + reply (ExtensionDelta), and only the text
// after it is encoded. X-Session-Id (or the user field) pins a session by
// id: its client may send only the new messages (PinnedDelta). Every
// response names its session in the X-Session-Id header and in
// usage.cache (an extension: sinks, window fill, evicted tokens, …).
//
// Chat templates: tokenizer_config.json's chat_template (Jinja, through
// github.com/ardanlabs/jinja), or PlainTemplate for models without one.
// Generation uses infer's Sampler, with the turn's index as the random
// stream, and Chat (sinktrain generate --chat) runs the same Conversation
// code on stdin turns: the same seed gives the same text in both.
//
// Nothing lost: with a state directory, sessions are written atomically
// (session file: header, metadata, infer KV snapshot with the model's
// fingerprint) when idle, when evicted from memory (LRU beyond MaxSessions)
// and at shutdown; they are read back on demand, also after a restart.
//
// serve imports infer, checkpoint and data/tokenizer, never gorgonia,
// model/graph or train, and nothing imports it but cmd/sinktrain.
package serve
