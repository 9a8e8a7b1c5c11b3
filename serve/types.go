package serve

import (
	"encoding/json"
	"fmt"
)

// The request and response bodies of the OpenAI HTTP API that the server
// speaks (https://platform.openai.com/docs/api-reference/chat). Fields the
// server does not use are accepted and ignored, as OpenAI's own server
// ignores unknown ones; extensions are marked.

// Message is one turn of a conversation.
type Message struct {
	Role    string  `json:"role"`    // "system", "user", "assistant" (a template may know more, e.g. "tool")
	Content Content `json:"content"` // the text
	Name    string  `json:"name,omitempty"`
}

// Content is a message's text: a JSON string, or an array of content parts
// of which only {"type":"text","text":…} parts are accepted (joined).
type Content string

// UnmarshalJSON reads a string, null (empty) or an array of text parts.
func (c *Content) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err == nil {
		if s != nil {
			*c = Content(*s)
		}
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return fmt.Errorf("content must be a string or an array of text parts")
	}
	var out string
	for _, p := range parts {
		if p.Type != "text" {
			return fmt.Errorf("content part of type %q, only \"text\" is supported", p.Type)
		}
		out += p.Text
	}
	*c = Content(out)
	return nil
}

// Stop is the "stop" field: a string or an array of up to 4 strings.
type Stop []string

// UnmarshalJSON reads a string, null or an array of strings.
func (s *Stop) UnmarshalJSON(b []byte) error {
	var one *string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = nil
		if one != nil && *one != "" {
			*s = Stop{*one}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("stop must be a string or an array of strings")
	}
	*s = many
	return nil
}

// StreamOptions is "stream_options".
type StreamOptions struct {
	// IncludeUsage adds a last chunk (before [DONE]) with empty choices and
	// the usage of the whole request; every other chunk has "usage": null.
	IncludeUsage bool `json:"include_usage"`
}

// Sampling holds the sampling fields shared by both completion requests.
type Sampling struct {
	// MaxTokens bounds the generated tokens (≥ 1, at most the server's
	// limit); nil: the server's default. MaxCompletionTokens is its newer
	// name; when both are set they must agree.
	MaxTokens           *int `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int `json:"max_completion_tokens,omitempty"`
	// Temperature in [0, 2]; 0 is greedy. nil: 1, as OpenAI.
	Temperature *float64 `json:"temperature,omitempty"`
	// TopP in (0, 1]: nucleus sampling. nil: 1.
	TopP *float64 `json:"top_p,omitempty"`
	// TopK (extension, as vLLM and llama.cpp): sample among the K most
	// likely tokens; 0 or nil: all.
	TopK *int `json:"top_k,omitempty"`
	// Seed makes sampling reproducible: the same seed, conversation and
	// cache give the same text (also as `sinktrain generate --chat`); each
	// turn draws from its own random stream of the seed (the turn's index).
	// nil: a fresh random seed per request.
	Seed *uint64 `json:"seed,omitempty"`
	// Stop: generation ends before the first occurrence of any of these
	// strings (at most 4), which is not returned.
	Stop Stop `json:"stop,omitempty"`
	// IgnoreEOS (extension, as vLLM and llama.cpp): end-of-text tokens do
	// not end the reply; they are emitted and read like any other token, and
	// the reply runs to max_tokens or a stop string (fixed-length
	// generation, for benchmarks).
	IgnoreEOS bool `json:"ignore_eos,omitempty"`
	// N must be 1 (or absent).
	N *int `json:"n,omitempty"`
	// Stream sends server-sent events (see the package doc).
	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
	// User identifies the end user; the server pins one endless
	// conversation per user (as X-Session-Id does).
	User string `json:"user,omitempty"`
}

// ChatRequest is the body of POST /v1/chat/completions.
type ChatRequest struct {
	Model    string    `json:"model"`    // a model name from GET /v1/models
	Messages []Message `json:"messages"` // the conversation so far, at least one message
	Sampling
}

// CompletionRequest is the body of POST /v1/completions.
type CompletionRequest struct {
	Model string `json:"model"`
	// Prompt is a string or an array holding one string.
	Prompt Prompt `json:"prompt"`
	Sampling
}

// Prompt is a completion prompt: a string or an array of one string.
type Prompt string

// UnmarshalJSON reads a string or an array of exactly one string.
func (p *Prompt) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = Prompt(s)
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil || len(many) != 1 {
		return fmt.Errorf("prompt must be a string or an array of one string")
	}
	*p = Prompt(many[0])
	return nil
}

// Usage counts the tokens of a request. PromptTokens are the tokens fed to
// the model for this request (the new part of the conversation only);
// PromptTokensDetails.CachedTokens those it did not have to encode because
// the session's cache already held them.
type Usage struct {
	PromptTokens        int           `json:"prompt_tokens"`
	CompletionTokens    int           `json:"completion_tokens"`
	TotalTokens         int           `json:"total_tokens"`
	PromptTokensDetails *TokenDetails `json:"prompt_tokens_details,omitempty"`
	// Cache (extension) is the session's KV cache after the request.
	Cache *CacheUsage `json:"cache,omitempty"`
	// Timings (extension) is how long the prompt and the decoding took, as
	// llama.cpp's server reports them.
	Timings *Timings `json:"timings,omitempty"`
}

// Timings (extension) are the server-side times of one request, in
// milliseconds (llama-server's names): the prompt from the start of the
// turn to the first generated token, and the decoding from the first
// generated token to the last (PredictedN − 1 steps).
type Timings struct {
	PromptN             int     `json:"prompt_n"`
	PromptMS            float64 `json:"prompt_ms"`
	PredictedN          int     `json:"predicted_n"`
	PredictedMS         float64 `json:"predicted_ms"`
	PredictedPerTokenMS float64 `json:"predicted_per_token_ms"` // predicted_ms / (predicted_n − 1); 0 for one token
}

// TokenDetails is OpenAI's prompt_tokens_details.
type TokenDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// CacheUsage (extension) describes a session's K+W cache.
type CacheUsage struct {
	Session    string `json:"session"`     // the session id (also the X-Session-Id response header)
	Spec       string `json:"spec"`        // the cache spec, e.g. "4+252"
	Sinks      int    `json:"sinks"`       // sink tokens kept (the first K stream tokens)
	Window     int    `json:"window"`      // window tokens kept
	WindowSize int    `json:"window_size"` // W
	Evicted    int    `json:"evicted"`     // tokens evicted so far
	Seen       int    `json:"seen"`        // tokens the session has seen in all
	Turns      int    `json:"turns"`       // assistant replies so far
}

// ChatChoice is one choice of a chat completion.
type ChatChoice struct {
	Index        int       `json:"index"`
	Message      *Message  `json:"message,omitempty"` // non-streamed
	Delta        *Delta    `json:"delta,omitempty"`   // streamed
	Logprobs     *struct{} `json:"logprobs"`          // always null
	FinishReason *string   `json:"finish_reason"`     // "stop" (end of text or a stop string), "length"; null while streaming
}

// Delta is a streamed piece of the assistant's message.
type Delta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

// ChatResponse is a chat completion ("chat.completion") or one streamed
// chunk of one ("chat.completion.chunk").
type ChatResponse struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"` // Unix seconds
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"` // the model's fingerprint (first 12 hex digits)
	Choices           []ChatChoice `json:"choices"`
	// Usage: always on a non-streamed response; on a stream null except in
	// the last chunk when stream_options.include_usage is set.
	Usage *Usage `json:"usage"`
}

// CompletionChoice is one choice of a text completion.
type CompletionChoice struct {
	Index        int       `json:"index"`
	Text         string    `json:"text"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

// CompletionResponse is a text completion ("text_completion"), streamed or not.
type CompletionResponse struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint"`
	Choices           []CompletionChoice `json:"choices"`
	Usage             *Usage             `json:"usage"`
}

// ModelInfo is one entry of GET /v1/models.
type ModelInfo struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "model"
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"` // "sinktrain"
	// Cache (extension) is the model's cache spec; Template "plain" or
	// "chat_template" (tokenizer_config.json).
	Cache    string `json:"cache"`
	Template string `json:"template"`
}

// ModelList is the body of GET /v1/models.
type ModelList struct {
	Object string      `json:"object"` // "list"
	Data   []ModelInfo `json:"data"`
}

// ErrorBody is OpenAI's error response.
type ErrorBody struct {
	Error APIError `json:"error"`
}

// APIError is the "error" object: a message for people, a type
// ("invalid_request_error", "not_found_error", "server_error", …), the
// request field at fault (or null) and a machine-readable code (or null).
type APIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
	status  int
}

func (e *APIError) Error() string { return e.Message }
