// Package model owns the GPT-NeoX (Pythia) model description: the [Config]
// read from and written to Hugging Face config.json files, the parameter
// list under Hugging Face names and shapes ([Config.ParamSpecs]), the
// in-memory [Weights], and the gorgonia training graph for a fixed
// (batch, length).
//
// model imports only autograd and sinktoken; it never reads files other than
// by parsing bytes handed to it (the checkpoint package does the I/O).
package model
