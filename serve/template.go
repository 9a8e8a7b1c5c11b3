package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ardanlabs/jinja"
)

// Template renders a conversation into the text the model reads.
type Template interface {
	// Render returns the text of msgs. With addGenerationPrompt the text
	// ends where the assistant's next reply begins. An error wraps
	// ErrTemplate when the conversation is one the template refuses (a role
	// it does not know, raise_exception).
	Render(msgs []Message, addGenerationPrompt bool) (string, error)
	// Name is "plain" or "chat_template".
	Name() string
}

// ErrTemplate marks a conversation that the chat template refuses.
var ErrTemplate = errors.New("chat template")

// PlainTemplate is the template of models whose tokenizer_config.json has no
// chat_template (sinktrain's own). Each message becomes one paragraph, in
// the style of StreamingLLM's multi-round demo:
//
//	system     CONTENT "\n\n"
//	user       "USER: " CONTENT "\n\n"
//	assistant  "ASSISTANT: " CONTENT "\n\n"
//
// and the generation prompt is "ASSISTANT: ". Other roles are refused. A
// reply is fed to the model as generated, so a conversation's text is
// always the rendering of its messages plus the reply being generated.
type PlainTemplate struct{}

// Name returns "plain".
func (PlainTemplate) Name() string { return "plain" }

// Render renders msgs as documented on PlainTemplate.
func (PlainTemplate) Render(msgs []Message, addGenerationPrompt bool) (string, error) {
	var b strings.Builder
	for i, m := range msgs {
		switch m.Role {
		case "system":
		case "user":
			b.WriteString("USER: ")
		case "assistant":
			b.WriteString("ASSISTANT: ")
		default:
			return "", fmt.Errorf("%w: messages[%d] has role %q, the plain template knows system, user and assistant: %w", ErrTemplate, i, m.Role, errRole)
		}
		b.WriteString(string(m.Content))
		b.WriteString("\n\n")
	}
	if addGenerationPrompt {
		b.WriteString("ASSISTANT: ")
	}
	return b.String(), nil
}

// errRole marks an unknown role (param "messages").
var errRole = errors.New("unknown role")

// JinjaTemplate is a Hugging Face chat template (tokenizer_config.json's
// chat_template), rendered as transformers' apply_chat_template(messages,
// tokenize=False, add_generation_prompt=…) does: the variables messages,
// add_generation_prompt and the special tokens (bos_token, eos_token,
// unk_token, pad_token) are defined; raise_exception, tojson, trim,
// namespace, loop controls and the rest of the Jinja subset chat templates
// use come from github.com/ardanlabs/jinja.
type JinjaTemplate struct {
	tmpl    *jinja.Template
	special map[string]any // bos_token, eos_token, …
}

// Name returns "chat_template".
func (*JinjaTemplate) Name() string { return "chat_template" }

// NewJinjaTemplate compiles src with the given special tokens
// ("bos_token" → "<|begin_of_text|>", …).
func NewJinjaTemplate(src string, special map[string]string) (*JinjaTemplate, error) {
	t, err := jinja.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("chat_template: %w", err)
	}
	sp := make(map[string]any, len(special))
	for k, v := range special {
		sp[k] = v
	}
	return &JinjaTemplate{tmpl: t, special: sp}, nil
}

// Render runs the template over msgs.
func (j *JinjaTemplate) Render(msgs []Message, addGenerationPrompt bool) (string, error) {
	ms := make([]any, len(msgs))
	for i, m := range msgs {
		mm := map[string]any{"role": m.Role, "content": string(m.Content)}
		if m.Name != "" {
			mm["name"] = m.Name
		}
		ms[i] = mm
	}
	vars := make(map[string]any, len(j.special)+2)
	for k, v := range j.special {
		vars[k] = v
	}
	vars["messages"] = ms
	vars["add_generation_prompt"] = addGenerationPrompt
	out, err := j.tmpl.Render(vars)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	return out, nil
}

// LoadTemplate returns the chat template of a model folder: the Jinja
// chat_template of its tokenizer_config.json (a string, or the "default"
// entry of a list of named templates), or PlainTemplate when the folder has
// no tokenizer_config.json or it has no chat_template.
func LoadTemplate(dir string) (Template, error) {
	path := filepath.Join(dir, "tokenizer_config.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return PlainTemplate{}, nil
	}
	if err != nil {
		return nil, err
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	raw, ok := cfg["chat_template"]
	if !ok || string(raw) == "null" {
		return PlainTemplate{}, nil
	}
	src, err := chatTemplateSource(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: chat_template: %w", path, err)
	}
	special := map[string]string{}
	for _, k := range []string{"bos_token", "eos_token", "unk_token", "pad_token"} {
		if v, ok := cfg[k]; ok {
			s, err := tokenString(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, k, err)
			}
			special[k] = s
		}
	}
	t, err := NewJinjaTemplate(src, special)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// chatTemplateSource reads chat_template: a string, or a list of
// {"name", "template"} of which "default" is taken.
func chatTemplateSource(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return "", fmt.Errorf("expected a string or a list of {name, template}")
	}
	for _, n := range named {
		if n.Name == "default" {
			return n.Template, nil
		}
	}
	return "", fmt.Errorf("a list of %d named templates with none named \"default\"", len(named))
}

// tokenString reads a special token: a string, null, or an AddedToken
// object {"content": …}.
func tokenString(raw json.RawMessage) (string, error) {
	var s *string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == nil {
			return "", nil
		}
		return *s, nil
	}
	var t struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return "", fmt.Errorf("expected a string or {\"content\": …}")
	}
	return t.Content, nil
}
