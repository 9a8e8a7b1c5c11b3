package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the server process get SIGTERM when the bench exits
// in any way (a closed pipe, ^C), so that no server is left running.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
