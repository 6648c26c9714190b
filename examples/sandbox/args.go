package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nsgo/nsgo/namespace"
)

// opKind is what one file system option (--bind, --tmpfs, ...) does; the
// options are applied in the order given, as bwrap applies its SetupOps.
type opKind int

const (
	opBind opKind = iota
	opROBind
	opDevBind
	opRemountRO
	opProc
	opDev
	opTmpfs
	opMqueue
	opDir
	opFile
	opBindData
	opROBindData
	opSymlink
	opChmod
)

// op is one file system option, as bwrap's SetupOp.
type op struct {
	kind         opKind
	flag         string // the option that made it, for messages
	source, dest string
	fd           int    // --file, --bind-data, --ro-bind-data
	allowMissing bool   // the -try forms
	perms        int    // -1: the option's default
	size         uint64 // --size for --tmpfs; 0: the default

	resolved string // a bind's source, resolved as realpath(3) does
	skipped  bool   // a -try bind whose source is missing
}

// config is the parsed command line: bwrap's opt_* globals.
type config struct {
	unshareUser, unshareUserTry, unshareIPC, unsharePID, unshareNet bool
	unshareUTS, unshareCgroup, unshareCgroupTry                     bool

	usernsFD, userns2FD, pidnsFD int
	disableUserns, assertUserns  bool
	workDir                      string // the working directory tried first (Options.Dir)

	uid, gid           int64 // -1: the caller's
	uidGiven, gidGiven bool
	hostname           string
	chdir              string
	hasChdir           bool
	env                []string // the environment bwrap's setenv, unsetenv and clearenv leave

	lockFiles                         []string
	syncFD, blockFD, usernsBlockFD    int
	infoFD, jsonStatusFD, seccompFD   int
	addSeccomp                        [][]byte // --add-seccomp-fd programs, read as they are parsed
	newSession, dieWithParent, asPID1 bool
	capsUsed                          bool
	caps                              namespace.CapSet
	argv0                             string
	hasArgv0                          bool
	ops                               []op
	usedFDs                           []int // descriptors the options consume, not passed to the program
	nextPerms                         int
	nextSize                          uint64
	command                           []string
	warnings                          []string
	totalArgs                         int
	realUID, realGID                  int
	progName                          string // argv[0], for the usage line
	plan                              []*op  // the option each Mounts entry comes from, for messages
}

// usageError asks for the usage text on standard error and exit status 1,
// as bwrap's usage (EXIT_FAILURE, stderr).
type usageError struct{}

func (usageError) Error() string { return "usage" }

// exitError ends the program early with a status and nothing printed:
// --help and --version.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// dief makes bwrap's die(): the message, printed as "bwrap: MESSAGE".
func dief(format string, args ...any) error { return fmt.Errorf(format, args...) }

// environ gives the environment that the options start from: the
// process's (tests leave out their own variables).
var environ = os.Environ

// maxArgs is bwrap's limit on the number of arguments, --args files included.
const maxArgs = 9000

func newConfig() *config {
	c := &config{
		usernsFD: -1, userns2FD: -1, pidnsFD: -1,
		uid: -1, gid: -1,
		syncFD: -1, blockFD: -1, usernsBlockFD: -1, infoFD: -1, jsonStatusFD: -1, seccompFD: -1,
		nextPerms: -1,
		env:       environ(),
		realUID:   os.Getuid(),
		realGID:   os.Getgid(),
	}
	if c.realUID == 0 {
		// Root starts with the capabilities it holds; --cap-drop takes from
		// them (bwrap's acquire_privs).
		c.caps = effectiveCaps()
	}
	return c
}

// parseFD parses a descriptor number as bwrap's strtol checks do.
func parseFD(s string) (int, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	if s == "" || err != nil || n < 0 {
		return 0, dief("Invalid fd: %s", s)
	}
	return int(n), nil
}

// parseOctal parses --perms and --chmod's mode: octal, at most 07777.
func parseOctal(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 8, 64)
	if err != nil || n > 0o7777 {
		return 0, false
	}
	return int(n), true
}

// parse reads the options in args, as bwrap's parse_args_recurse does, and
// leaves the command in c.command.
func (c *config) parse(args []string, inFile bool) ([]string, error) {
	if c.totalArgs > maxArgs {
		return nil, dief("Exceeded maximum number of arguments %d", maxArgs)
	}
	for len(args) > 0 {
		arg := args[0]
		need := func(n int, what string) error {
			if len(args) < n+1 {
				return dief("%s %s", arg, what)
			}
			return nil
		}
		one := func() error { return need(1, "takes an argument") }
		oneArg := func() error { return need(1, "takes one argument") }
		two := func() error { return need(2, "takes two arguments") }
		lastOnly := func(set bool) {
			if set {
				c.warnings = append(c.warnings, "Only the last "+arg+" option will take effect")
			}
		}
		fdOpt := func(dst *int) error {
			if err := one(); err != nil {
				return err
			}
			lastOnly(*dst != -1)
			fd, err := parseFD(args[1])
			if err != nil {
				return err
			}
			*dst = fd
			args = args[1:]
			return nil
		}
		var err error
		switch arg {
		case "--help":
			fmt.Fprint(os.Stdout, usageLine(c.progName)+usageText())
			return nil, exitError{0}
		case "--version":
			fmt.Println(version)
			return nil, exitError{0}
		case "--args":
			if inFile {
				return nil, dief("--args not supported in arguments file")
			}
			if len(args) < 2 {
				return nil, dief("--args takes an argument")
			}
			fd, err := parseFD(args[1])
			if err != nil {
				return nil, err
			}
			f := os.NewFile(uintptr(fd), "args")
			data, rerr := io.ReadAll(f)
			f.Close()
			if rerr != nil {
				return nil, dief("Can't read --args data: %s", errnoText(rerr))
			}
			var fileArgs []string
			for len(data) > 0 {
				c.totalArgs++
				if c.totalArgs > maxArgs {
					return nil, dief("Exceeded maximum number of arguments %d", maxArgs)
				}
				i := bytes.IndexByte(data, 0)
				if i < 0 {
					fileArgs = append(fileArgs, string(data))
					break
				}
				fileArgs = append(fileArgs, string(data[:i]))
				data = data[i+1:]
			}
			// Like bwrap, a command inside the file is not one: what
			// follows the file's options there is dropped.
			if _, err := c.parse(fileArgs, true); err != nil {
				return nil, err
			}
			args = args[1:]
		case "--argv0":
			if err = oneArg(); err != nil {
				return nil, err
			}
			if c.hasArgv0 {
				return nil, dief("--argv0 used multiple times")
			}
			c.argv0, c.hasArgv0 = args[1], true
			args = args[1:]
		case "--unshare-all":
			c.unshareUserTry, c.unshareIPC, c.unsharePID, c.unshareUTS, c.unshareCgroupTry, c.unshareNet = true, true, true, true, true, true
		case "--unshare-user":
			c.unshareUser = true
		case "--unshare-user-try":
			c.unshareUserTry = true
		case "--unshare-ipc":
			c.unshareIPC = true
		case "--unshare-pid":
			c.unsharePID = true
		case "--unshare-net":
			c.unshareNet = true
		case "--unshare-uts":
			c.unshareUTS = true
		case "--unshare-cgroup":
			c.unshareCgroup = true
		case "--unshare-cgroup-try":
			c.unshareCgroupTry = true
		case "--share-net":
			c.unshareNet = false
		case "--chdir":
			if err = oneArg(); err != nil {
				return nil, err
			}
			lastOnly(c.hasChdir)
			c.chdir, c.hasChdir = args[1], true
			args = args[1:]
		case "--disable-userns":
			c.disableUserns = true
		case "--assert-userns-disabled":
			c.assertUserns = true
		case "--remount-ro":
			if err = oneArg(); err != nil {
				return nil, err
			}
			c.ops = append(c.ops, op{kind: opRemountRO, flag: arg, dest: args[1], perms: -1})
			args = args[1:]
		case "--bind", "--bind-try", "--ro-bind", "--ro-bind-try", "--dev-bind", "--dev-bind-try":
			if err = two(); err != nil {
				return nil, err
			}
			k := opBind
			switch strings.TrimSuffix(arg, "-try") {
			case "--ro-bind":
				k = opROBind
			case "--dev-bind":
				k = opDevBind
			}
			c.ops = append(c.ops, op{kind: k, flag: arg, source: args[1], dest: args[2], allowMissing: strings.HasSuffix(arg, "-try"), perms: -1})
			args = args[2:]
		case "--bind-fd", "--ro-bind-fd":
			if len(args) < 3 {
				return nil, dief("--bind-fd takes two arguments")
			}
			fd, err := parseFD(args[1])
			if err != nil {
				return nil, err
			}
			k := opBind
			if arg == "--ro-bind-fd" {
				k = opROBind
			}
			c.ops = append(c.ops, op{kind: k, flag: arg, source: "/proc/self/fd/" + args[1], dest: args[2], perms: -1})
			c.usedFDs = append(c.usedFDs, fd)
			args = args[2:]
		case "--exec-label", "--file-label":
			if err = one(); err != nil {
				return nil, err
			}
			// bwrap's answer where SELinux is not enabled, which is the
			// only case here: nsgo sets no labels.
			return nil, dief("labeling not supported on this system")
		case "--proc", "--dev", "--tmpfs", "--mqueue", "--dir":
			if err = one(); err != nil {
				return nil, err
			}
			o := op{flag: arg, dest: args[1], perms: -1}
			switch arg {
			case "--proc":
				o.kind = opProc
			case "--dev":
				o.kind = opDev
			case "--tmpfs":
				o.kind = opTmpfs
				o.perms = c.takePerms(0o755)
				o.size, c.nextSize = c.nextSize, 0
			case "--mqueue":
				o.kind = opMqueue
			case "--dir":
				o.kind = opDir
				o.perms = c.takePerms(0o755)
			}
			c.ops = append(c.ops, o)
			args = args[1:]
		case "--file", "--bind-data", "--ro-bind-data":
			if err = two(); err != nil {
				return nil, err
			}
			fd, err := parseFD(args[1])
			if err != nil {
				return nil, err
			}
			o := op{flag: arg, fd: fd, dest: args[2]}
			switch arg {
			case "--file":
				o.kind, o.perms = opFile, c.takePerms(0o666)
			case "--bind-data":
				o.kind, o.perms = opBindData, c.takePerms(0o600)
			default:
				o.kind, o.perms = opROBindData, c.takePerms(0o600)
			}
			c.ops = append(c.ops, o)
			c.usedFDs = append(c.usedFDs, fd)
			args = args[2:]
		case "--symlink":
			if err = two(); err != nil {
				return nil, err
			}
			c.ops = append(c.ops, op{kind: opSymlink, flag: arg, source: args[1], dest: args[2], perms: -1})
			args = args[2:]
		case "--lock-file":
			if err = one(); err != nil {
				return nil, err
			}
			c.lockFiles = append(c.lockFiles, args[1])
			args = args[1:]
		case "--sync-fd":
			if err = fdOpt(&c.syncFD); err != nil {
				return nil, err
			}
		case "--block-fd":
			if err = fdOpt(&c.blockFD); err != nil {
				return nil, err
			}
		case "--userns-block-fd":
			if err = fdOpt(&c.usernsBlockFD); err != nil {
				return nil, err
			}
		case "--info-fd":
			if err = fdOpt(&c.infoFD); err != nil {
				return nil, err
			}
		case "--json-status-fd":
			if err = fdOpt(&c.jsonStatusFD); err != nil {
				return nil, err
			}
		case "--seccomp":
			if err = one(); err != nil {
				return nil, err
			}
			if len(c.addSeccomp) > 0 {
				return nil, dief("--seccomp cannot be combined with --add-seccomp-fd")
			}
			if err = fdOpt(&c.seccompFD); err != nil {
				return nil, err
			}
		case "--add-seccomp-fd":
			if err = one(); err != nil {
				return nil, err
			}
			if c.seccompFD != -1 {
				return nil, dief("--add-seccomp-fd cannot be combined with --seccomp")
			}
			fd, err := parseFD(args[1])
			if err != nil {
				return nil, err
			}
			prog, err := readSeccomp(fd)
			if err != nil {
				return nil, err
			}
			c.addSeccomp = append(c.addSeccomp, prog)
			args = args[1:]
		case "--userns":
			if err = fdOpt(&c.usernsFD); err != nil {
				return nil, err
			}
		case "--userns2":
			if err = fdOpt(&c.userns2FD); err != nil {
				return nil, err
			}
		case "--pidns":
			if err = fdOpt(&c.pidnsFD); err != nil {
				return nil, err
			}
		case "--clearenv":
			c.env = nil
		case "--setenv":
			if err = two(); err != nil {
				return nil, err
			}
			c.setenv(args[1], args[2])
			args = args[2:]
		case "--unsetenv":
			if err = one(); err != nil {
				return nil, err
			}
			c.unsetenv(args[1])
			args = args[1:]
		case "--uid", "--gid":
			if err = one(); err != nil {
				return nil, err
			}
			dst := &c.uid
			if arg == "--gid" {
				dst = &c.gid
			}
			lastOnly(*dst != -1)
			n, perr := strconv.ParseInt(args[1], 10, 32)
			if args[1] == "" || perr != nil || n < 0 {
				return nil, dief("Invalid %s: %s", arg[2:], args[1])
			}
			*dst = n
			args = args[1:]
		case "--hostname":
			if err = one(); err != nil {
				return nil, err
			}
			lastOnly(c.hostname != "")
			c.hostname = args[1]
			args = args[1:]
		case "--new-session":
			c.newSession = true
		case "--die-with-parent":
			c.dieWithParent = true
		case "--as-pid-1":
			c.asPID1 = true
		case "--cap-add", "--cap-drop":
			if err = one(); err != nil {
				return nil, err
			}
			c.capsUsed = true
			if strings.EqualFold(args[1], "ALL") {
				if arg == "--cap-add" {
					c.caps = namespace.AllCaps()
				} else {
					c.caps = 0
				}
			} else {
				cp, perr := parseCap(args[1])
				if perr != nil {
					return nil, dief("unknown cap: %s", args[1])
				}
				if arg == "--cap-add" {
					c.caps = c.caps.Add(cp)
				} else {
					c.caps = c.caps.Drop(cp)
				}
			}
			args = args[1:]
		case "--perms":
			if err = one(); err != nil {
				return nil, err
			}
			if c.nextPerms != -1 {
				return nil, dief("--perms given twice for the same action")
			}
			p, ok := parseOctal(args[1])
			if !ok {
				return nil, dief("--perms takes an octal argument <= 07777")
			}
			c.nextPerms = p
			args = args[1:]
		case "--size":
			if err = one(); err != nil {
				return nil, err
			}
			if c.nextSize != 0 {
				return nil, dief("--size given twice for the same action")
			}
			size, ok := parseSize(args[1])
			if !ok {
				return nil, dief("--size takes a non-zero number of bytes")
			}
			if size > maxTmpfsBytes {
				return nil, dief("--size (for tmpfs) is limited to %d", uint64(maxTmpfsBytes))
			}
			c.nextSize = size
			args = args[1:]
		case "--chmod":
			if err = two(); err != nil {
				return nil, err
			}
			p, ok := parseOctal(args[1])
			if !ok {
				return nil, dief("--chmod takes an octal argument <= 07777")
			}
			c.ops = append(c.ops, op{kind: opChmod, flag: arg, dest: args[2], perms: p})
			args = args[2:]
		case "--":
			return args[1:], nil
		default:
			if strings.HasPrefix(arg, "-") {
				return nil, dief("Unknown option %s", arg)
			}
			return args, nil
		}
		// --perms and --size modify the next option only, which must use
		// them (bwrap's is_modifier_option check).
		if arg != "--perms" && arg != "--size" {
			if c.nextPerms >= 0 {
				return nil, dief("--perms must be followed by an option that creates a file")
			}
			if c.nextSize != 0 {
				return nil, dief("--size must be followed by --tmpfs")
			}
		}
		args = args[1:]
	}
	return args, nil
}

// takePerms returns the --perms value for this option, or def, and clears it.
func (c *config) takePerms(def int) int {
	p := def
	if c.nextPerms >= 0 {
		p = c.nextPerms
	}
	c.nextPerms = -1
	return p
}

// maxTmpfsBytes is bwrap's limit on --size: half the address space.
const maxTmpfsBytes = ^uint64(0) >> 1

// parseSize parses --size as strtoull with base 0 does (decimal, 0x hex, 0
// octal), with bwrap's checks: a leading digit, nothing after the number,
// not zero.
func parseSize(s string) (uint64, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' || strings.ContainsAny(s, "_oObB") {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil || n == 0 {
		return 0, false
	}
	return n, true
}

func (c *config) setenv(name, value string) {
	c.unsetenv(name)
	c.env = append(c.env, name+"="+value)
}

func (c *config) unsetenv(name string) {
	out := c.env[:0]
	for _, kv := range c.env {
		if k, _, _ := strings.Cut(kv, "="); k != name {
			out = append(out, kv)
		}
	}
	c.env = out
}

func (c *config) getenv(name string) (string, bool) {
	for _, kv := range c.env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v, true
		}
	}
	return "", false
}

// readSeccomp reads a seccomp program from fd and closes it, with bwrap's
// checks.
func readSeccomp(fd int) ([]byte, error) {
	f := os.NewFile(uintptr(fd), "seccomp")
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, dief("Can't read seccomp data: %s", errnoText(err))
	}
	if len(data)%8 != 0 {
		return nil, dief("Invalid seccomp data, must be multiple of 8")
	}
	return data, nil
}
