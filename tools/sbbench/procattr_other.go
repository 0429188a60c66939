//go:build !linux

package main

import (
	"os"
	"syscall"
)

// childAttr: only Linux can tie a child's life to its parent's.
func childAttr() *syscall.SysProcAttr { return nil }

// maxRSS is unknown (-1) off Linux: units of Rusage.Maxrss vary.
func maxRSS(*os.ProcessState) int64 { return -1 }
