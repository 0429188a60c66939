package main

import "syscall"

// memoryTotal returns the machine's memory in bytes.
func memoryTotal() (int64, error) {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0, err
	}
	return int64(si.Totalram) * int64(si.Unit), nil
}
