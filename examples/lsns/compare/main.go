// Command compare measures procfs.List against util-linux lsns side by side.
//
// It starts -sleepers processes, each in new uts, net, pid and ipc namespaces
// (and a user namespace when not run as root), then runs, alternating for
// -rounds rounds: procfs.List in this process, the lsns example as a command
// (`-lsns-example`, built by the caller), and `lsns -J`. It prints the median
// wall time of each and the ratios, and kills the sleepers.
//
//	go build -o /tmp/nsgo-lsns ./examples/lsns
//	go run ./examples/lsns/compare -lsns-example /tmp/nsgo-lsns
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
)

func main() {
	sleepers := flag.Int("sleepers", 500, "processes to start, each in its own uts, net, pid and ipc namespaces")
	rounds := flag.Int("rounds", 21, "alternating rounds to take the median of")
	example := flag.String("lsns-example", "", "path of the built examples/lsns binary, to time as a command too")
	flag.Parse()
	if err := run(os.Stdout, *sleepers, *rounds, *example); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, sleepers, rounds int, example string) error {
	opts := namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "3600"}, New: namespace.UTS | namespace.Net | namespace.PID | namespace.IPC}
	if os.Getuid() != 0 {
		opts.New |= namespace.User
		opts.UIDMap = idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}}
	}
	var procs []*namespace.Process
	defer func() {
		for _, p := range procs {
			p.Kill()
			p.Wait()
		}
	}()
	for range sleepers {
		p, err := namespace.Spawn(opts)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}

	list, err := procfs.List()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d sleepers; %d namespaces; %d processes in /proc\n", sleepers, len(list), countProcs())

	type peer struct {
		name  string
		run   func() error
		times []time.Duration
	}
	peers := []*peer{
		{name: "procfs.List()", run: func() error { _, err := procfs.List(); return err }},
		{name: "lsns -J", run: command("lsns", "-J")},
	}
	if example != "" {
		peers = append(peers, &peer{name: "examples/lsns --json", run: command(example, "--json")})
	}
	for range rounds {
		for _, p := range peers {
			start := time.Now()
			if err := p.run(); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			p.times = append(p.times, time.Since(start))
		}
	}
	base := median(peers[1].times)
	fmt.Fprintf(w, "%-22s %12s %10s\n", "", "median", "vs lsns -J")
	for _, p := range peers {
		m := median(p.times)
		fmt.Fprintf(w, "%-22s %12s %9.2fx\n", p.name, m.Round(10*time.Microsecond), float64(m)/float64(base))
	}
	return nil
}

func command(name string, args ...string) func() error {
	return func() error {
		cmd := exec.Command(name, args...)
		cmd.Stdout = io.Discard
		return cmd.Run()
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func countProcs() int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		if e.Name()[0] >= '1' && e.Name()[0] <= '9' {
			n++
		}
	}
	return n
}
