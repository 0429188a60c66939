package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/httpapi"
	"github.com/switchboard/switchboard/store"
)

// The store's operations (README, "Operations: backup and restore").
// bbolt holds an exclusive lock on the file while a server runs, so no
// other process can open it: backup reaches a running server's store
// through the server itself, GET /admin/backup on the metrics listener
// (loopback by default), which streams bbolt's Tx.WriteTo in a read
// transaction while the server goes on writing. Its address and a token
// made at each start are in the owner file beside the store, readable by
// whoever may read the store, so `switchboard backup FILE` with the
// server's configuration needs nothing else; with no server running it
// copies the file itself. Restore and compact replace the file, so they
// run only while no server holds it.

// storeOpFlags are the flags of backup, restore and compact: the
// configuration (for store.path), and backup's own.
func storeOpFlags(name string) (fs *flag.FlagSet, path *string, sets *setFlags, from, token *string) {
	fs, path, sets = configFlags(name)
	if name == "backup" {
		from = fs.String("from", "", "base URL of a running server's metrics listener, e.g. http://127.0.0.1:9464 (default: the owner file beside the store says, when a server holds it)")
		token = fs.String("token", "", "the admin token for --from (default: the one in the owner file beside the store)")
	}
	return fs, path, sets, from, token
}

// storeOpConfig parses a store operation's flags and wants exactly
// wantArgs arguments; it returns the store's path, or an exit code.
func storeOpConfig(name string, args []string, wantArgs int, stderr io.Writer) (fs *flag.FlagSet, storePath string, from, token string, code int) {
	fs, path, sets, fromFlag, tokenFlag := storeOpFlags(name)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return fs, "", "", "", 2
	}
	if fs.NArg() != wantArgs {
		fmt.Fprintf(stderr, "switchboard %s: want %d argument(s), got %d (switchboard help %s)\n", name, wantArgs, fs.NArg(), name)
		return fs, "", "", "", 2
	}
	cfg, err := loadConfig(*path, os.Environ(), *sets)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: invalid configuration: %v\n", err)
		return fs, "", "", "", 1
	}
	if fromFlag != nil {
		from, token = *fromFlag, *tokenFlag
	}
	return fs, cfg.Store.Path, from, token, 0
}

func backupCommand(args []string, stdout, stderr io.Writer) int {
	fs, storePath, from, token, code := storeOpConfig("backup", args, 1, stderr)
	if code != 0 {
		return code
	}
	dst := fs.Arg(0)
	if same(dst, storePath) {
		fmt.Fprintf(stderr, "switchboard backup: %s is the store itself\n", dst)
		return 2
	}
	start := time.Now()
	var info store.Info
	var err error
	source := storePath
	if from == "" {
		info, err = store.BackupFile(storePath, dst)
		if errors.Is(err, store.ErrLocked) { // a server holds it: ask that one
			o, oerr := store.ReadOwner(storePath)
			if oerr != nil || o.Admin == "" {
				err = fmt.Errorf("%w; its owner file names no admin endpoint: give --from and --token", err)
			} else {
				from = o.Admin
			}
		}
	}
	if from != "" {
		if token == "" {
			o, _ := store.ReadOwner(storePath)
			token = o.Token
		}
		source = from
		info, err = backupFrom(from, token, dst)
	}
	if err != nil {
		fmt.Fprintf(stderr, "switchboard backup: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "backup of %s written to %s in %s: %d bytes, schema %d, %s\n",
		source, dst, time.Since(start).Round(time.Millisecond), info.Size, info.Version, counts(info))
	return 0
}

// backupFrom fetches a running server's backup into dst.
func backupFrom(base, token, dst string) (store.Info, error) {
	url := strings.TrimSuffix(base, "/") + "/admin/backup"
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return store.Info{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return store.Info{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return store.Info{}, fmt.Errorf("%s: %s: %s", url, res.Status, strings.TrimSpace(string(msg)))
	}
	return store.WriteBackupFile(dst, func(w io.Writer) (int64, error) {
		n, err := io.Copy(w, res.Body)
		if err == nil && res.ContentLength >= 0 && n != res.ContentLength {
			err = fmt.Errorf("%s: cut short: %d of %d bytes", url, n, res.ContentLength)
		}
		return n, err
	})
}

func restoreCommand(args []string, stdout, stderr io.Writer) int {
	fs, storePath, _, _, code := storeOpConfig("restore", args, 1, stderr)
	if code != 0 {
		return code
	}
	from := fs.Arg(0)
	if same(from, storePath) {
		fmt.Fprintf(stderr, "switchboard restore: %s is the store itself\n", from)
		return 2
	}
	info, err := store.Restore(storePath, from)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard restore: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "store %s restored from %s: %d bytes, schema %d, %s\n", storePath, from, info.Size, info.Version, counts(info))
	if info.Version < store.SchemaVersion {
		fmt.Fprintf(stdout, "its schema is brought to version %d when switchboard next starts on it\n", store.SchemaVersion)
	}
	return 0
}

func compactCommand(args []string, stdout, stderr io.Writer) int {
	_, storePath, _, _, code := storeOpConfig("compact", args, 0, stderr)
	if code != 0 {
		return code
	}
	before, after, err := store.Compact(storePath)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard compact: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "store %s compacted: %d bytes before, %d after (%.1f%% smaller)\n",
		storePath, before, after, 100*(1-float64(after)/float64(max(before, 1))))
	return 0
}

// counts lists a store's records per bucket, in name order.
func counts(info store.Info) string {
	names := make([]string, 0, len(info.Keys))
	for name := range info.Keys {
		names = append(names, name)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("%s %d", name, info.Keys[name])
	}
	return strings.Join(parts, ", ")
}

// same reports whether two paths name one file.
func same(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	absA, _ := filepath.Abs(a)
	absB, _ := filepath.Abs(b)
	return absA == absB
}

// adminFor is the running server's admin endpoint on the metrics
// listener: backups of db, with a token made now, which the owner file
// beside the store advertises once the listener is up (serve).
func adminFor(db *store.DB, log *slog.Logger) httpapi.Admin {
	token := make([]byte, 32)
	rand.Read(token)
	return httpapi.Admin{Token: hex.EncodeToString(token), Backup: db.Backup, Log: log}
}

// pruneLimit bounds the records of each kind one retention sweep deletes.
const pruneLimit = 100_000

// sweepRetention deletes agent transitions and finished callbacks older
// than retention, at once and then daily, until ctx ends; each sweep is
// logged and counted.
func sweepRetention(ctx context.Context, db *store.DB, retention time.Duration, reg prometheus.Registerer, log *slog.Logger) {
	pruned := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_store_pruned_total",
		Help: "Records deleted by the retention sweep (store.retention), by kind."}, []string{"kind"})
	reg.MustRegister(pruned)
	tick := time.NewTicker(24 * time.Hour)
	defer tick.Stop()
	for {
		cutoff := time.Now().Add(-retention)
		p, err := db.Prune(ctx, cutoff, pruneLimit)
		pruned.WithLabelValues("transitions").Add(float64(p.Transitions))
		pruned.WithLabelValues("callbacks").Add(float64(p.Callbacks))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("retention sweep", "error", err, "transitions", p.Transitions, "callbacks", p.Callbacks)
		case err == nil:
			log.Info("retention sweep", "before", cutoff.Format(time.RFC3339), "transitions", p.Transitions,
				"callbacks", p.Callbacks, "more_left", p.Transitions == pruneLimit || p.Callbacks == pruneLimit)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
