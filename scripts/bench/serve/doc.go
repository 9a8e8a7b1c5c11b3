// Command serve measures sinktrain serve on this machine (issue 18;
// docs/PERFORMANCE.md): per-token decode latency at turn 1, 20 and 200
// under a K+W cache (turn 1's message long enough to fill the cache, so
// that every turn decodes with a full one; -fill=false sends a short first
// turn), from conversations that each time their turn 1 and turn 20, the
// ratio taken conversation by conversation; the server's RSS over 1,000
// turns of one
// session; and 16 concurrent sessions (bounded: each holds a fixed number of
// turns, then the load stops) with p50/p95 request latency and the error
// count. The server runs in a process of its own (this binary, re-executed),
// listening on 127.0.0.1 only.
//
//	go run ./scripts/bench/serve [-cache 4+252] [-turns 1000] [-sessions 16] [-latency-pairs 30] [-fill=false]
//
// It imports serve's library packages (any library package, never cmd).
package main
