// Command sinktrain trains, converts, evaluates and inspects attention-sink
// language models (GPT-NeoX, Llama, Mistral, Qwen2, Falcon, MPT). Each subcommand lives in its own file and parses its
// flags into an Options struct for one library call (see README.md).
//
// It is the only package that knows flag names and prints to the terminal:
// library errors about an input (internal/input) are reworded here to name
// the flag that set it. Nothing imports it.
package main
