package main

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
)

// goBench runs every Go benchmark of the module, prints their result
// lines, and returns BenchmarkNotifyFanout1000 in milliseconds per
// operation (NaN when it did not run).
func goBench(ctx context.Context, root string) (float64, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run=^$", "-bench=.", "-benchmem", "-timeout=15m", "./...")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	fanout := math.NaN()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == "?" || f[0] == "PASS" { // "?": a package without tests
			continue
		}
		if strings.HasPrefix(f[0], "BenchmarkNotifyFanout1000") && len(f) >= 4 && f[3] == "ns/op" {
			if ns, err := strconv.ParseFloat(f[2], 64); err == nil {
				fanout = ns / 1e6
			}
		}
		fmt.Println(" ", line)
	}
	if err != nil {
		return fanout, fmt.Errorf("go test: %v", err)
	}
	return fanout, nil
}
