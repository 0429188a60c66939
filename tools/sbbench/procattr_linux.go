package main

import (
	"os"
	"syscall"
)

// childAttr has the kernel kill a child if sbbench itself dies without
// stopping it (SIGKILL, crash).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// maxRSS is the peak resident size of an ended process, in MiB.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss >> 10 // KiB on Linux
	}
	return -1
}
