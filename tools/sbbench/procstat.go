package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go runs on.
const clockTick = 100

// procCPU is the user plus system time a process used so far (all its
// threads), from /proc/<pid>/stat: utime and stime, fields 14 and 15.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:])) // from field 3, the state
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTick, nil
}

// machineCPU reads the first line of /proc/stat: the time all cores were
// busy (everything but idle and iowait) and the total, in ticks.
func machineCPU() (busy, total int64, err error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0, fmt.Errorf("/proc/stat: empty")
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 6 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line")
	}
	for i, s := range fields[1:] {
		if i >= 8 { // guest times are already in user and nice
			break
		}
		v, _ := strconv.ParseInt(s, 10, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, nil
}

// socketOwners maps the inodes of the sockets the processes have open to
// the name given with each pid.
func socketOwners(pids map[int]string) map[uint64]string {
	out := map[uint64]string{}
	for pid, name := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			link, err := os.Readlink(filepath.Join(dir, e.Name()))
			if err != nil {
				continue
			}
			if s, ok := strings.CutPrefix(link, "socket:["); ok {
				if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
					out[ino] = name
				}
			}
		}
	}
	return out
}

// udpDrops reads the datagrams each UDP socket dropped (full receive
// buffer, mostly) from /proc/net/udp and udp6, by socket inode.
func udpDrops() map[uint64]uint64 {
	out := map[uint64]uint64{}
	for _, path := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
			fields := strings.Fields(sc.Text())
			if len(fields) < 13 {
				continue
			}
			ino, err1 := strconv.ParseUint(fields[9], 10, 64)
			drops, err2 := strconv.ParseUint(fields[12], 10, 64)
			if err1 == nil && err2 == nil {
				out[ino] = drops
			}
		}
		f.Close()
	}
	return out
}

// dropsBetween adds up the drops of sockets from a to b by owner (sockets
// of no listed process count as "other"); a socket new in b counts whole.
func dropsBetween(a, b map[uint64]uint64, owners map[uint64]string) map[string]uint64 {
	out := map[string]uint64{}
	for ino, n := range b {
		if d := n - min(n, a[ino]); d > 0 {
			name, ok := owners[ino]
			if !ok {
				name = "other"
			}
			out[name] += d
		}
	}
	return out
}
