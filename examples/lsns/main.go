// Command lsns lists the namespaces on this host, like util-linux lsns, using
// procfs.List.
//
// Usage:
//
//	go run ./examples/lsns [-t kind] [-p pid] [--json] [--tree]
//
// The default output has the columns NS TYPE NPROCS PID USER COMMAND, laid
// out as lsns lays them out; --json prints the same keys as lsns -J.
//
// --tree shows the user namespaces as a tree, each with the namespaces it
// owns, as lsns --tree (lsns -T owner) does: under the same header, with the
// NS column holding the tree, and children in order of their inode numbers.
// With -t or -p, the namespaces that match keep their owners and those
// owners' ancestors, so the tree stays connected, as in lsns; unlike lsns,
// which shows such ancestors with 0 processes and no PID or command, these
// rows show the ancestors' own columns. --tree --json nests each namespace's
// children in a "children" array, as lsns --tree -J does.
//
// Commands are shown as lsns shows them in a UTF-8 locale: a control
// character, a character that is not printable, a byte that is not UTF-8 and
// the backslash of a "\x" become \xHH escapes, so a newline in a command is
// \x0a and one line stays one namespace. JSON output carries the command
// as it is, escaped as JSON.
package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lsns: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "lsns:", err)
		return 1
	}

	kinds := procfs.All
	if *kind != "" {
		k, err := procfs.ParseKinds(*kind)
		if err != nil {
			return fail(err)
		}
		kinds = k
	}
	if !*tree {
		opts := []procfs.ListOption{procfs.OfKind(kinds)}
		if *pid != 0 {
			opts = append(opts, procfs.OfPID(*pid))
		}
		list, err := procfs.List(opts...)
		if err != nil {
			return fail(err)
		}
		if *asJSON {
			err = writeJSON(stdout, list)
		} else {
			writeTable(stdout, list)
		}
		if err != nil {
			return fail(err)
		}
		return 0
	}

	// The tree is built from every namespace, and then pruned to those that
	// match and their ancestors: a filtered list lacks the ancestors.
	match := func(ns procfs.Namespace) bool { return kinds.Has(ns.Kind) }
	if *pid != 0 {
		own, err := procfs.Namespaces(*pid)
		if err != nil {
			return fail(err)
		}
		match = func(ns procfs.Namespace) bool { return kinds.Has(ns.Kind) && own[ns.Kind] == ns.ID }
	}
	list, err := procfs.List(procfs.WithHierarchy())
	if err != nil {
		return fail(err)
	}
	var roots []*node
	for _, u := range procfs.UserTree(list) {
		if n := prune(u, match); n != nil {
			roots = append(roots, n)
		}
	}
	if *asJSON {
		err = writeJSONTree(stdout, roots)
	} else {
		writeTree(stdout, roots)
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

// node is a namespace in the tree that --tree shows.
type node struct {
	procfs.Namespace
	children []*node // in the order of their inode numbers, then kinds
}

// prune returns u as a node with the namespaces it owns and its child user
// namespaces that match, or have descendants that match; nil if none does
// and u does not match either.
func prune(u *procfs.UserNode, match func(procfs.Namespace) bool) *node {
	n := &node{Namespace: u.Namespace}
	for _, ns := range u.Owned {
		if match(ns) {
			n.children = append(n.children, &node{Namespace: ns})
		}
	}
	for _, c := range u.Children {
		if cn := prune(c, match); cn != nil {
			n.children = append(n.children, cn)
		}
	}
	if len(n.children) == 0 && !match(u.Namespace) {
		return nil
	}
	slices.SortFunc(n.children, func(a, b *node) int {
		return cmp.Or(cmp.Compare(a.ID.Ino, b.ID.Ino), cmp.Compare(a.Kind, b.Kind))
	})
	return n
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

// column is one column of the table: its header, alignment, and the width
// hint lsns gives it.
type column struct {
	name  string
	right bool
	hint  int
}

// columns are those of lsns's default output, with lsns's width hints.
var columns = []column{{"NS", true, 10}, {"TYPE", false, 5}, {"NPROCS", true, 5}, {"PID", true, 5}, {"USER", false, 0}, {"COMMAND", false, 0}}

// writeColumns writes the header and rows as lsns (libsmartcols) does on
// output that is no terminal: one space between columns, the last one not
// padded, and each column as wide as its widest cell, or as its header where
// that is wider; a column whose widest cell is as wide as its header or
// wider, but narrower than its width hint, takes the hint's width. Widths
// count runes: commands are escaped, and no other column holds wide
// characters in practice.
func writeColumns(w io.Writer, cols []column, rows [][]string) {
	widths := make([]int, len(cols))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	for i, c := range cols {
		if least := utf8.RuneCountInString(c.name); widths[i] < least {
			widths[i] = least
		} else if widths[i] < c.hint && least < c.hint {
			widths[i] = c.hint
		}
	}
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.name
	}
	var b strings.Builder
	for _, row := range append([][]string{header}, rows...) {
		b.Reset()
		for i, cell := range row {
			if i > 0 {
				b.WriteByte(' ')
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			switch {
			case cols[i].right:
				b.WriteString(pad + cell)
			case i == len(row)-1:
				b.WriteString(cell)
			default:
				b.WriteString(cell + pad)
			}
		}
		b.WriteByte('\n')
		io.WriteString(w, b.String())
	}
}

// cells are the table's cells for ns, after the NS column.
func cells(ns procfs.Namespace) []string {
	return []string{ns.Kind.String(), strconv.Itoa(ns.Procs), pidText(ns.PID), userName(ns.UID), escape(describe(ns))}
}

func writeTable(w io.Writer, list []procfs.Namespace) {
	rows := make([][]string, 0, len(list))
	for _, ns := range list {
		rows = append(rows, append([]string{strconv.FormatUint(ns.ID.Ino, 10)}, cells(ns)...))
	}
	writeColumns(w, columns, rows)
}

// writeTree writes the tree as lsns --tree does: the table's columns, with
// the NS column, aligned left, drawing the tree.
func writeTree(w io.Writer, roots []*node) {
	var rows [][]string
	var walk func(n *node, branch, prefix string)
	walk = func(n *node, branch, prefix string) {
		rows = append(rows, append([]string{branch + strconv.FormatUint(n.ID.Ino, 10)}, cells(n.Namespace)...))
		for i, c := range n.children {
			if i == len(n.children)-1 {
				walk(c, prefix+"└─", prefix+"  ")
			} else {
				walk(c, prefix+"├─", prefix+"│ ")
			}
		}
	}
	for _, r := range roots {
		walk(r, "", "")
	}
	cols := slices.Clone(columns)
	cols[0].right = false
	writeColumns(w, cols, rows)
}

// escape returns s as lsns shows a command in a UTF-8 locale (libsmartcols'
// mbs_safe_encode): control characters, characters that are not printable,
// bytes that are not UTF-8, and a backslash followed by x, as \xHH for each
// byte; everything else as it is.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == 'x' || r == utf8.RuneError && size == 1 || !printable(r) {
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, "\\x%02x", c)
			}
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// printable reports whether glibc's iswprint holds for r in a UTF-8 locale:
// for every assigned character but the controls and the line and paragraph
// separators. Format characters and private use ones are printable there.
func printable(r rune) bool {
	return r != '\u2028' && r != '\u2029' &&
		unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs, unicode.Cf, unicode.Co)
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

// jsonNamespace has the keys of lsns -J, and of lsns --tree -J.
type jsonNamespace struct {
	NS       uint64          `json:"ns"`
	Type     string          `json:"type"`
	NProcs   int             `json:"nprocs"`
	PID      *int            `json:"pid"`
	User     *string         `json:"user"`
	Command  *string         `json:"command"`
	Children []jsonNamespace `json:"children,omitempty"`
}

func toJSON(ns procfs.Namespace) jsonNamespace {
	j := jsonNamespace{NS: ns.ID.Ino, Type: ns.Kind.String(), NProcs: ns.Procs}
	if ns.Procs > 0 {
		pid, name, cmd := ns.PID, userName(ns.UID), ns.Command
		j.PID, j.User, j.Command = &pid, &name, &cmd
	}
	return j
}

// encodeJSON writes the namespaces under the key "namespaces", indented by
// three spaces and with <, > and & as they are, as lsns -J does.
func encodeJSON(w io.Writer, list []jsonNamespace) error {
	out := struct {
		Namespaces []jsonNamespace `json:"namespaces"`
	}{Namespaces: list}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "   ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func writeJSON(w io.Writer, list []procfs.Namespace) error {
	out := make([]jsonNamespace, 0, len(list))
	for _, ns := range list {
		out = append(out, toJSON(ns))
	}
	return encodeJSON(w, out)
}

// writeJSONTree writes the tree as lsns --tree -J does: each namespace with
// its children in a "children" array, left out where there are none.
func writeJSONTree(w io.Writer, roots []*node) error {
	var conv func(n *node) jsonNamespace
	conv = func(n *node) jsonNamespace {
		j := toJSON(n.Namespace)
		for _, c := range n.children {
			j.Children = append(j.Children, conv(c))
		}
		return j
	}
	out := make([]jsonNamespace, 0, len(roots))
	for _, r := range roots {
		out = append(out, conv(r))
	}
	return encodeJSON(w, out)
}
