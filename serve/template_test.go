package serve

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/data/tokenizer"
)

// Chat templates as Hugging Face ships them in tokenizer_config.json
// (Meta-Llama-3-8B-Instruct and Qwen2-7B-Instruct).
const (
	llama3Template = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
	qwen2Template  = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
	// mistralTemplate refuses roles that do not alternate (raise_exception).
	mistralTemplate = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
	// featureTemplate uses what Llama-3.1 and Qwen2.5 templates add:
	// namespace, loop controls, slices, tojson, is defined, |length.
	featureTemplate = `{%- set ns = namespace(n=0) -%}{%- for m in messages -%}{%- if m.role == 'system' %}{% continue %}{% endif -%}{%- if loop.index0 > 3 %}{% break %}{% endif -%}{%- set ns.n = ns.n + 1 -%}[{{ ns.n }}:{{ m.content|trim|tojson }}]{%- endfor -%}{{ {'a': [1, 'é'], 'b': none}|tojson }}|{{ messages[-1].content[:3] }}|{{ messages|length }}{% if tools is not defined %}|no tools{% endif %}`
)

func testMessages() []Message {
	return []Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: " Hello\n"},
		{Role: "assistant", Content: "Hi!"},
		{Role: "user", Content: "Bye"},
	}
}

// TestTemplates: each template renders the conversation as transformers'
// apply_chat_template does (expected texts worked out from the Jinja
// semantics: |trim binds tighter than +, loop.first, bos_token, Python's
// json.dumps separators for tojson).
func TestTemplates(t *testing.T) {
	special := map[string]string{"bos_token": "<s>", "eos_token": "</s>"}
	jinja := func(src string) Template {
		j, err := NewJinjaTemplate(src, special)
		mustT(t, err)
		return j
	}
	ms := testMessages()
	tests := []struct {
		name string
		tmpl Template
		msgs []Message
		gen  bool
		want string
	}{
		{"plain", PlainTemplate{}, ms, true, "Be brief.\n\nUSER:  Hello\n\n\nASSISTANT: Hi!\n\nUSER: Bye\n\nASSISTANT: "},
		{"plain no prompt", PlainTemplate{}, ms[1:2], false, "USER:  Hello\n\n\n"},
		{"llama3", jinja(llama3Template), ms, true, "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"llama3 no prompt", jinja(llama3Template), ms[1:3], false, "<s><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi!<|eot_id|>"},
		{"qwen2 with system", jinja(qwen2Template), ms, true, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n Hello\n<|im_end|>\n<|im_start|>assistant\nHi!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"},
		{"qwen2 default system", jinja(qwen2Template), ms[3:], true, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"},
		{"mistral", jinja(mistralTemplate), ms[1:], true, "<s>[INST]  Hello\n [/INST]Hi!</s>[INST] Bye [/INST]"},
		{"features", jinja(featureTemplate), ms, true, `[1:"Hello"][2:"Hi!"][3:"Bye"]{"a": [1, "é"], "b": null}|Bye|4|no tools`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.tmpl.Render(tt.msgs, tt.gen)
			mustT(t, err)
			if got != tt.want {
				t.Errorf("rendered\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestTemplateRefuses: raise_exception and unknown roles wrap ErrTemplate
// and become 422 errors naming the problem.
func TestTemplateRefuses(t *testing.T) {
	mis, err := NewJinjaTemplate(mistralTemplate, map[string]string{"bos_token": "<s>", "eos_token": "</s>"})
	mustT(t, err)
	for _, tt := range []struct {
		tmpl Template
		msgs []Message
		want string
	}{
		{mis, testMessages(), "Conversation roles must alternate"},
		{PlainTemplate{}, []Message{{Role: "tool", Content: "x"}}, `messages[0] has role "tool"`},
	} {
		_, err := tt.tmpl.Render(tt.msgs, true)
		if !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrTemplate with %q", tt.tmpl.Name(), err, tt.want)
			continue
		}
		if ae := templateError(err); ae.status != 422 || !strings.Contains(ae.Message, tt.want) {
			t.Errorf("API error %d %q", ae.status, ae.Message)
		}
	}
	if _, err := NewJinjaTemplate("{% for %}", nil); err == nil {
		t.Error("a template that does not compile was accepted")
	}
}

// TestLoadTemplate: tokenizer_config.json's chat_template (a string or named
// templates) with AddedToken-style special tokens; no file or no template
// is the plain template; a broken file is an error naming it.
func TestLoadTemplate(t *testing.T) {
	write := func(content string) string {
		dir := t.TempDir()
		if content != "" {
			mustT(t, os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(content), 0o644))
		}
		return dir
	}
	named, _ := json.Marshal(map[string]any{
		"chat_template": []map[string]string{{"name": "tool_use", "template": "TOOLS"}, {"name": "default", "template": llama3Template}},
		"bos_token":     map[string]any{"content": "<|begin_of_text|>", "lstrip": false},
	})
	tm, err := LoadTemplate(write(string(named)))
	mustT(t, err)
	got, err := tm.Render([]Message{{Role: "user", Content: "hi"}}, true)
	mustT(t, err)
	if want := "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"; got != want {
		t.Errorf("named default template rendered %q, want %q", got, want)
	}
	for _, c := range []string{"", `{"model_max_length": 8}`, `{"chat_template": null}`} {
		tm, err := LoadTemplate(write(c))
		mustT(t, err)
		if tm.Name() != "plain" {
			t.Errorf("%q: template %s, want plain", c, tm.Name())
		}
	}
	for _, c := range []string{`{"chat_template": 3}`, `{"chat_template": "{% if %}"}`, `{`, `{"chat_template": [{"name": "x", "template": "y"}]}`} {
		if _, err := LoadTemplate(write(c)); err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") {
			t.Errorf("%q: err = %v, want one naming tokenizer_config.json", c, err)
		}
	}
}

// goldenCase is one entry of testdata/fixtures/tokenizers/<family>/chat.json,
// written by transformers' apply_chat_template(messages, tokenize=False,
// add_generation_prompt=…) from the family's tokenizer_config.json.
type goldenCase struct {
	Messages            []Message `json:"messages"`
	AddGenerationPrompt bool      `json:"add_generation_prompt"`
	Text                string    `json:"text"`
	IDs                 []int32   `json:"ids"` // apply_chat_template(tokenize=True)
}

// TestTemplateGoldens renders every family's HF goldens with the family's
// own chat_template (scripts/fixtures writes them with transformers), and
// the rendered text encodes to HF's ids with the family's tokenizer. Each
// family folder under testdata/fixtures/tokenizers/ that has a
// chat_template must have a chat.json, and llama3 and qwen2 must be there.
func TestTemplateGoldens(t *testing.T) {
	root := filepath.Join("..", "testdata", "fixtures", "tokenizers")
	dirs, _ := filepath.Glob(filepath.Join(root, "*"))
	checked := map[string]int{}
	for _, dir := range dirs {
		tm, err := LoadTemplate(dir)
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		if tm.Name() != "chat_template" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "chat.json"))
		if err != nil {
			t.Errorf("%s has a chat_template but no HF goldens: %v", dir, err)
			continue
		}
		var cases []goldenCase
		mustT(t, json.Unmarshal(b, &cases))
		if len(cases) == 0 {
			t.Errorf("%s/chat.json has no cases", dir)
		}
		tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		for i, c := range cases {
			got, err := tm.Render(c.Messages, c.AddGenerationPrompt)
			if err != nil {
				t.Errorf("%s case %d: %v", dir, i, err)
			} else if got != c.Text {
				t.Errorf("%s case %d:\n got %q\nwant %q", dir, i, got, c.Text)
			} else if ids := tok.Encode(got); !slices.Equal(ids, c.IDs) {
				t.Errorf("%s case %d: the rendered text encodes to %v, HF's ids are %v", dir, i, ids, c.IDs)
			}
		}
		checked[filepath.Base(dir)] = len(cases)
	}
	for _, f := range []string{"llama3", "qwen2"} {
		if checked[f] == 0 {
			t.Errorf("no HF chat goldens for %s under %s (scripts/fixtures writes them)", f, root)
		}
	}
	t.Logf("HF chat goldens checked (family: cases): %v", checked)
}
