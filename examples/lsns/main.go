// Command lsns lists the namespaces on this host, like util-linux lsns, using
// procfs.List.
//
// Usage:
//
//	go run ./examples/lsns [-t kind] [-p pid] [--json] [--tree]
//
// The default output has the columns NS TYPE NPROCS PID USER COMMAND; --json
// prints the same keys as lsns -J; --tree shows the user namespaces as a tree,
// each with the namespaces it owns (as lsns -T owner does).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"text/tabwriter"

	"github.com/nsgo/nsgo/procfs"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lsns", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("t", "", "only namespaces of these kinds (mnt, net, ipc, user, pid, uts, cgroup, time)")
	pid := fs.Int("p", 0, "only the namespaces of this process")
	asJSON := fs.Bool("json", false, "JSON output with the keys of lsns -J")
	tree := fs.Bool("tree", false, "the user namespaces as a tree, with what each owns")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "lsns:", err)
		return 1
	}

	var opts []procfs.ListOption
	if *kind != "" {
		k, err := procfs.ParseKinds(*kind)
		if err != nil {
			return fail(err)
		}
		opts = append(opts, procfs.OfKind(k))
	}
	if *pid != 0 {
		opts = append(opts, procfs.OfPID(*pid))
	}
	if *tree {
		opts = append(opts, procfs.WithHierarchy())
	}
	list, err := procfs.List(opts...)
	if err != nil {
		return fail(err)
	}
	switch {
	case *asJSON:
		err = writeJSON(stdout, list)
	case *tree:
		writeTree(stdout, procfs.UserTree(list))
	default:
		writeTable(stdout, list)
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

var userNames = map[int]string{}

// userName returns the login name of uid, or the number where none is known.
func userName(uid int) string {
	if uid < 0 {
		return ""
	}
	name, ok := userNames[uid]
	if !ok {
		name = strconv.Itoa(uid)
		if u, err := user.LookupId(name); err == nil {
			name = u.Username
		}
		userNames[uid] = name
	}
	return name
}

func writeTable(w io.Writer, list []procfs.Namespace) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "NS\tTYPE\tNPROCS\tPID\tUSER\t COMMAND")
	for _, ns := range list {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t %s\n", ns.ID.Ino, ns.Kind, ns.Procs, pidText(ns.PID), userName(ns.UID), describe(ns))
	}
	tw.Flush()
}

func pidText(pid int) string {
	if pid == 0 {
		return ""
	}
	return strconv.Itoa(pid)
}

// describe is the COMMAND column, or for a namespace no process is in, what
// holds it.
func describe(ns procfs.Namespace) string {
	if ns.Procs > 0 {
		return ns.Command
	}
	return "(held by " + ns.Path + ")"
}

// jsonNamespace has the keys of lsns -J.
type jsonNamespace struct {
	NS      uint64  `json:"ns"`
	Type    string  `json:"type"`
	NProcs  int     `json:"nprocs"`
	PID     *int    `json:"pid"`
	User    *string `json:"user"`
	Command *string `json:"command"`
}

func writeJSON(w io.Writer, list []procfs.Namespace) error {
	out := struct {
		Namespaces []jsonNamespace `json:"namespaces"`
	}{Namespaces: make([]jsonNamespace, 0, len(list))}
	for _, ns := range list {
		j := jsonNamespace{NS: ns.ID.Ino, Type: ns.Kind.String(), NProcs: ns.Procs}
		if ns.Procs > 0 {
			pid, name, cmd := ns.PID, userName(ns.UID), ns.Command
			j.PID, j.User, j.Command = &pid, &name, &cmd
		}
		out.Namespaces = append(out.Namespaces, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "   ")
	return enc.Encode(out)
}

func writeTree(w io.Writer, roots []*procfs.UserNode) {
	var walk func(n *procfs.UserNode, prefix string)
	line := func(ns procfs.Namespace, prefix, branch string) {
		fmt.Fprintf(w, "%s%s%d %s %d %s %s\n", prefix, branch, ns.ID.Ino, ns.Kind, ns.Procs, userName(ns.UID), describe(ns))
	}
	walk = func(n *procfs.UserNode, prefix string) {
		total := len(n.Owned) + len(n.Children)
		i := 0
		next := func() (string, string) {
			i++
			if i == total {
				return "└─", prefix + "  "
			}
			return "├─", prefix + "│ "
		}
		for _, ns := range n.Owned {
			b, _ := next()
			line(ns, prefix, b)
		}
		for _, c := range n.Children {
			b, p := next()
			line(c.Namespace, prefix, b)
			walk(c, p)
		}
	}
	for _, r := range roots {
		line(r.Namespace, "", "")
		walk(r, "")
	}
}
