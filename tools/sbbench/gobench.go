package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// benchFigures are Go benchmark results: by benchmark name (its -N suffix
// cut), by unit ("ns/op", "heap-B/presentity"...), the value.
type benchFigures map[string]map[string]float64

// get returns a figure, and whether the benchmark reported it.
func (f benchFigures) get(name, unit string) (float64, bool) {
	v, ok := f[name][unit]
	return v, ok
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// goBench runs every Go benchmark of the module, prints their result
// lines, and returns their figures.
func goBench(ctx context.Context, root string) (benchFigures, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run=^$", "-bench=.", "-benchmem", "-timeout=15m", "./...")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	figures := benchFigures{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == "?" || f[0] == "PASS" { // "?": a package without tests
			continue
		}
		fmt.Println(" ", line)
		if !strings.HasPrefix(f[0], "Benchmark") || len(f) < 4 {
			continue
		}
		name := procsSuffix.ReplaceAllString(f[0], "")
		for i := 2; i+1 < len(f); i += 2 { // after the iterations: value unit pairs
			v, perr := strconv.ParseFloat(f[i], 64)
			if perr != nil {
				break
			}
			if figures[name] == nil {
				figures[name] = map[string]float64{}
			}
			figures[name][f[i+1]] = v
		}
	}
	if err != nil {
		return figures, fmt.Errorf("go test: %v", err)
	}
	return figures, nil
}
