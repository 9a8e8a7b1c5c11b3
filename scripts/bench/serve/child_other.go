//go:build !linux

package main

import "os/exec"

// dieWithParent is a no-op where the kernel cannot signal a child when its
// parent exits.
func dieWithParent(*exec.Cmd) {}
