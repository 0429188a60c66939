//go:build !linux

package main

import "errors"

// memoryTotal is only known on Linux.
func memoryTotal() (int64, error) {
	return 0, errors.New("machine memory unknown on this system")
}
