// Command sandbox is a drop-in for bwrap (bubblewrap) 0.8.0, built on nsgo:
// the same options, with bwrap's meaning, defaults, exit statuses, JSON on
// --info-fd and --json-status-fd, and messages, from one namespace.Spawn
// and no helper binary.
//
//	go run ./examples/sandbox --unshare-all --ro-bind /usr /usr --symlink usr/bin /bin \
//		--symlink usr/lib64 /lib64 --proc /proc --dev /dev --tmpfs /tmp /bin/sh
//
// As bwrap does, it builds the sandbox's root on an empty tmpfs that the
// file system options fill, in order, and runs COMMAND in it in a new mount
// namespace, and in the other namespaces the options ask for; it exits with
// the command's exit status, or 128 plus the number of the signal that
// killed it. Run by a user other than root it always creates a user
// namespace, mapping that user to itself (or to --uid and --gid), as bwrap
// does when it is not installed set-user-ID.
//
// Its messages are bwrap's, word for word where bwrap says them before it
// starts anything (usage and option errors), and with bwrap's "bwrap: "
// prefix everywhere: bwrap prints that fixed prefix whatever name it is run
// by (only the usage line shows argv[0]), so that scripts and programs
// (Flatpak, build tools) that look for bwrap's messages find them here too.
//
// What it does not do: it has no set-user-ID mode (bwrap's privilege
// separation for a setuid install; run it as root or let it create a user
// namespace), no SELinux labels (--exec-label and --file-label get bwrap's
// "labeling not supported on this system"), and no --userns2, which says
// "not supported yet" and exits 1, as any option would that the library
// could not serve. --argv0 is bwrap 0.9.0's. See
// the README's "examples/sandbox" section for where it differs from bwrap
// on purpose.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// version is what --version prints: the bwrap this command stands in for.
const version = "bubblewrap 0.8.0"

// prefix starts every message, as bwrap's die() and warn() start theirs.
const prefix = "bwrap: "

// inherited lists the descriptors above 2 that the caller passed on
// (without close-on-exec), read before anything here opens one: bwrap
// passes them on to the command, and so does this.
var inherited = inheritedFDs()

func main() {
	os.Exit(run(os.Args))
}

// run is the whole command: parse, set up, spawn, wait; it returns the exit
// status.
func run(argv []string) int {
	argv0 := "bwrap"
	if len(argv) > 0 {
		argv0 = argv[0]
	}
	if len(argv) < 2 {
		fmt.Fprint(os.Stderr, usageLine(argv0)+usageText())
		return 1
	}
	c := newConfig()
	c.progName = argv0
	rest, err := c.parse(argv[1:], false)
	for _, w := range c.warnings {
		fmt.Fprintln(os.Stderr, prefix+w)
	}
	if err == nil {
		c.command = rest
		err = c.check()
	}
	var ee exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, usageError{}):
		fmt.Fprint(os.Stderr, usageLine(argv0)+usageText())
		return 1
	case err != nil:
		fmt.Fprintln(os.Stderr, prefix+err.Error())
		return 1
	}
	code, err := c.start()
	if err != nil {
		fmt.Fprintln(os.Stderr, prefix+err.Error())
		return 1
	}
	return code
}

// check makes bwrap's checks after the parse, in bwrap's order, and settles
// the namespaces that the -try options and the caller's privileges decide.
func (c *config) check() error {
	switch {
	case c.usernsBlockFD != -1 && !c.unshareUser:
		return dief("--userns-block-fd requires --unshare-user")
	case c.usernsBlockFD != -1 && c.infoFD == -1:
		return dief("--userns-block-fd requires --info-fd")
	case c.usernsFD != -1 && c.unshareUser:
		return dief("--userns not compatible --unshare-user")
	case c.usernsFD != -1 && c.unshareUserTry:
		return dief("--userns not compatible --unshare-user-try")
	case c.disableUserns && !c.unshareUser:
		return dief("--disable-userns requires --unshare-user")
	case c.disableUserns && c.usernsBlockFD != -1:
		return dief("--disable-userns is not compatible with  --userns-block-fd")
	}
	// Not set-user-ID: a user other than root needs a user namespace.
	if c.realUID != 0 && c.usernsFD == -1 {
		c.unshareUser = true
	}
	if c.unshareUserTry && userNamespacesAvailable() {
		c.unshareUser = true
	}
	if len(c.command) == 0 {
		return usageError{}
	}
	c.uidGiven, c.gidGiven = c.uid != -1, c.gid != -1
	if c.uid == -1 {
		c.uid = int64(c.realUID)
	}
	if c.gid == -1 {
		c.gid = int64(c.realGID)
	}
	switch {
	case !c.unshareUser && c.usernsFD == -1 && c.uid != int64(c.realUID):
		return dief("Specifying --uid requires --unshare-user or --userns")
	case !c.unshareUser && c.usernsFD == -1 && c.gid != int64(c.realGID):
		return dief("Specifying --gid requires --unshare-user or --userns")
	case !c.unshareUTS && c.hostname != "":
		return dief("Specifying --hostname requires --unshare-uts")
	case c.asPID1 && !c.unsharePID:
		return dief("Specifying --as-pid-1 requires --unshare-pid")
	case c.asPID1 && len(c.lockFiles) > 0:
		return dief("Specifying --as-pid-1 and --lock-file is not permitted")
	}
	if c.unshareCgroup {
		if _, err := os.Stat("/proc/self/ns/cgroup"); errors.Is(err, os.ErrNotExist) {
			return dief("Cannot create new cgroup namespace because the kernel does not support it")
		}
	}
	if c.unshareCgroupTry {
		_, err := os.Stat("/proc/self/ns/cgroup")
		c.unshareCgroup = err == nil
	}
	return nil
}

// userNamespacesAvailable is bwrap's test for --unshare-user-try: the
// kernel has user namespaces and user.max_user_namespaces is not 0.
func userNamespacesAvailable() bool {
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		return false
	}
	if b, err := os.ReadFile("/sys/module/user_namespace/parameters/enable"); err == nil && len(b) > 0 && b[0] == 'N' {
		return false
	}
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && string(b) == "0\n" {
		return false
	}
	return true
}

// notSupported is the error for an option that the library cannot serve
// yet: said, never ignored.
func notSupported(what string) error {
	return dief("%s: not supported yet", what)
}

// start spawns the command in the sandbox, reports on --info-fd and
// --json-status-fd, waits, and returns the exit status.
func (c *config) start() (int, error) {
	if c.dieWithParent {
		// bwrap itself dies with its parent too, and with it the sandbox.
		ppid := os.Getppid()
		unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
		if os.Getppid() != ppid {
			return 1, nil
		}
	}
	opts, handle, err := c.options()
	if err != nil {
		return 1, err
	}
	if handle != nil {
		defer handle.Close()
	}
	// --info-fd and --json-status-fd stay out of the child's reach while
	// it is cloned (see fdStash).
	var report []int
	for _, fd := range []int{c.infoFD, c.jsonStatusFD} {
		if fd != -1 {
			report = append(report, fd)
		}
	}
	var stash *fdStash
	if len(report) > 0 {
		if stash, err = stashFDs(report); err != nil {
			return 1, dief("Write to info_fd: %s", errnoText(err))
		}
	}
	early := c.blockFD != -1 || c.usernsBlockFD != -1
	if early {
		// bwrap reports right after its clone, before the sandbox is set
		// up: whoever reads the report may be what --block-fd and
		// --userns-block-fd wait for. Otherwise the report waits for the
		// command to run, which keeps the child from waiting for it.
		o := &opts
		o.OnClone = func(pid int) error {
			if err := stash.restore(); err != nil {
				return dief("Write to info_fd: %s", errnoText(err))
			}
			if err := c.report(pid); err != nil {
				return err
			}
			if c.usernsBlockFD != -1 {
				f := os.NewFile(uintptr(c.usernsBlockFD), "userns-block-fd")
				f.Read(make([]byte, 1))
				f.Close()
			}
			return nil
		}
	}
	var p *namespace.Process
	if handle != nil {
		p, err = handle.Spawn(opts)
	} else {
		p, err = namespace.Spawn(opts)
	}
	for _, f := range opts.ExtraFiles {
		if f != nil {
			f.Close()
		}
	}
	if opts.BlockFD != nil {
		opts.BlockFD.Close()
	}
	if rerr := stash.restore(); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return 1, c.spawnError(err)
	}
	if !early {
		if err := c.report(p.Pid); err != nil {
			p.Kill()
			p.Wait()
			return 1, err
		}
	}
	if err := c.lock(p); err != nil {
		p.Kill()
		p.Wait()
		return 1, err
	}
	state, err := p.Wait()
	if err != nil {
		return 1, dief("waitpid: %s", errnoText(err))
	}
	code := 255
	if ws, ok := state.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Exited():
			code = ws.ExitStatus()
		case ws.Signaled():
			code = 128 + int(ws.Signal())
		}
	}
	if c.jsonStatusFD != -1 {
		f := os.NewFile(uintptr(c.jsonStatusFD), "json-status-fd")
		fmt.Fprintf(f, "{ \"exit-code\": %d }\n", code)
		f.Close()
	}
	return code, nil
}

// options builds the library's options from the command line; a handle
// when the sandbox enters existing namespaces (--userns, --pidns).
func (c *config) options() (namespace.Options, *namespace.Handle, error) {
	o := namespace.Options{
		Args:       append([]string(nil), c.command...),
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		New:        namespace.Mount,
		Hostname:   c.hostname,
		Setsid:     c.newSession,
		NoNewPrivs: true, // bwrap sets no_new_privs always, before anything else
	}
	if c.hasArgv0 {
		o.Args[0] = c.argv0
	}
	switch {
	case c.unshareUser:
		o.New |= namespace.User
	}
	if c.unsharePID {
		o.New |= namespace.PID // inside --pidns's, if given
	}
	if c.unshareNet {
		o.New |= namespace.Net
	}
	if c.unshareIPC {
		o.New |= namespace.IPC
	}
	if c.unshareUTS {
		o.New |= namespace.UTS
	}
	if c.unshareCgroup {
		o.New |= namespace.Cgroup
	}
	if c.dieWithParent {
		o.ParentDeathSignal = syscall.SIGKILL
	}

	// What the library has no option for, said before anything starts.
	if c.userns2FD != -1 {
		return o, nil, notSupported("--userns2")
	}
	if err := c.checkNamespaceFDs(); err != nil {
		return o, nil, err
	}
	o.Loopback = c.unshareNet
	o.Init = c.unsharePID && !c.asPID1
	o.DisableUserNamespaces = c.disableUserns
	o.RequireUserNamespacesDisabled = c.assertUserns
	if c.blockFD != -1 {
		o.BlockFD = os.NewFile(uintptr(c.blockFD), "block-fd")
	}

	// Credentials: the sandbox's uid and gid map to the caller's; setgroups
	// is denied, as bwrap always denies it. With --userns-block-fd another
	// process writes the maps while the child waits.
	if c.unshareUser && c.usernsBlockFD == -1 {
		o.UIDMap = idmap.Map{{Inside: uint32(c.uid), Outside: uint32(c.realUID), Count: 1}}
		o.GIDMap = idmap.Map{{Inside: uint32(c.gid), Outside: uint32(c.realGID), Count: 1}}
		o.SetGroups = idmap.Deny
		o.Credential = &namespace.Credential{UID: uint32(c.uid), GID: uint32(c.gid), NoSetGroups: true}
	}
	o.Capabilities = c.capabilities()

	// Seccomp: --seccomp, or one --add-seccomp-fd.
	prog := c.addSeccomp
	if c.seccompFD != -1 {
		data, err := readSeccomp(c.seccompFD)
		if err != nil {
			return o, nil, err
		}
		prog = [][]byte{data}
	}
	for i, p := range prog {
		if len(p) == 0 {
			return o, nil, errSeccompEINVAL
		}
		if i == 0 {
			o.Seccomp = decodeSeccomp(p)
		} else {
			o.SeccompFilters = append(o.SeccompFilters, decodeSeccomp(p))
		}
	}

	mounts, err := c.mounts()
	if err != nil {
		return o, nil, err
	}
	o.Mounts = mounts

	// The working directory: --chdir, else the caller's if the command
	// can enter it in the sandbox, else $HOME if it can enter that, else /,
	// as bwrap tries them with chdir(2) inside; PWD says which (the
	// library changes PWD=Dir to the fallback entered). A caller's
	// directory that is gone (getcwd fails) is skipped, as bwrap's
	// get_current_dir_name() gives it nothing to try.
	cwd := "/"
	if c.hasChdir {
		cwd = c.chdir
	} else {
		var tries []string
		if wd, err := os.Getwd(); err == nil {
			tries = append(tries, wd)
		}
		if home, ok := c.getenv("HOME"); ok && home != "" {
			tries = append(tries, home)
		}
		tries = append(tries, "/")
		cwd = tries[0]
		for _, d := range tries[1:] {
			if d != cwd && !slices.Contains(o.DirFallbacks, d) {
				o.DirFallbacks = append(o.DirFallbacks, d)
			}
		}
	}
	o.Dir, c.workDir = cwd, cwd
	c.setenv("PWD", cwd)
	o.Env = c.env
	if o.Env == nil {
		o.Env = []string{}
	}

	// The program: looked up in the sandbox's PATH, as execvp does there.
	o.Path = c.command[0]
	if !strings.Contains(o.Path, "/") {
		o.Path = c.lookPath(o.Path)
	}

	// Descriptors: those the caller passed on go to the command at the same
	// numbers, but for those the options consume.
	o.ExtraFiles = c.extraFiles()

	var h *namespace.Handle
	if c.usernsFD != -1 || c.pidnsFD != -1 {
		var paths []string
		for _, fd := range []int{c.usernsFD, c.pidnsFD} {
			if fd != -1 {
				paths = append(paths, "/proc/self/fd/"+strconv.Itoa(fd))
			}
		}
		h, err = namespace.FromPaths(paths...)
		if err != nil {
			return o, nil, dief("Joining specified namespace failed: %s", errnoText(err))
		}
		// bwrap changes to --uid and --gid in the joined namespace, and
		// otherwise keeps the IDs the caller's map to there, which the
		// library's default (0, as nsenter) is for a namespace that maps
		// the caller to root, as user namespaces made for sandboxes do.
		if c.usernsFD != -1 && (c.uidGiven || c.gidGiven) {
			o.Credential = &namespace.Credential{UID: uint32(c.uid), GID: uint32(c.gid), NoSetGroups: true}
		}
	}
	return o, h, nil
}

// checkNamespaceFDs says what bwrap's setns(2) would say of --userns and
// --pidns, before anything starts: a descriptor that is not open (EBADF) or
// not a namespace of the kind (EINVAL), and --pidns from a new user
// namespace, which bwrap enters the PID namespace from and which has no
// right to (setns takes CAP_SYS_ADMIN in the user namespace that owns the
// PID namespace, and a new one is never that one nor below it): bwrap always
// fails so, once started.
func (c *config) checkNamespaceFDs() error {
	if c.usernsFD != -1 {
		if err := nsFDIs(c.usernsFD, namespace.User); err != nil {
			return usernsError(err)
		}
	}
	if c.pidnsFD != -1 {
		err := nsFDIs(c.pidnsFD, namespace.PID)
		if err == nil && c.unshareUser {
			err = unix.EPERM
		}
		if err != nil {
			return pidnsError("Setting pidns failed", err)
		}
	}
	return nil
}

// usernsError is bwrap's message when its setns(2) into --userns fails.
func usernsError(err error) error {
	if errors.Is(err, unix.EINVAL) {
		return dief("Joining the specified user namespace failed, it might not be a descendant of the current user namespace.")
	}
	return dief("Joining specified user namespace failed: %s", errnoText(err))
}

// pidnsError is bwrap's message when a step of its --pidns fails in its
// child: what failed, then its monitor's, which never gets the PID the
// child was to send.
func pidnsError(what string, err error) error {
	return dief("%s: %s\n%sUnexpected short read from pid socket", what, errnoText(err), prefix)
}

// nsFDIs returns setns(2)'s errno for descriptor fd and a namespace of kind:
// EBADF for a descriptor that is not open, EINVAL for one that is not a
// namespace of that kind.
func nsFDIs(fd int, kind namespace.Kind) error {
	t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	switch {
	case err == unix.EBADF:
		return err
	case err != nil || namespace.Kind(t) != kind:
		return unix.EINVAL
	}
	return nil
}

// capabilities are the sets bwrap leaves the command: root keeps its own
// (bounded by its effective set in a user namespace, where bwrap drops the
// rest from the bounding set); anyone else, or root with --cap-add or
// --cap-drop, the requested ones, which a user other than root gets as
// ambient capabilities.
func (c *config) capabilities() *namespace.Capabilities {
	inUserNS := c.unshareUser || c.usernsFD != -1
	switch {
	case c.realUID == 0 && !c.capsUsed && (!inUserNS || c.usernsBlockFD != -1):
		// (With --userns-block-fd another process maps the IDs, and
		// whether the command runs as root inside is its choice.)
		return nil
	case c.realUID == 0 && !c.capsUsed:
		caps := &namespace.Capabilities{Bounding: c.caps, IgnoreMissing: true}
		if c.uid == 0 {
			caps.Permitted, caps.Effective = c.caps, c.caps
		}
		return caps
	}
	caps := namespace.KeepCaps(c.caps)
	caps.IgnoreMissing = true
	return caps
}

// errSeccompEINVAL is bwrap's message when the kernel refuses a filter.
var errSeccompEINVAL = dief("Unable to set up system call filtering as requested: prctl(PR_SET_SECCOMP) reported EINVAL. (Hint: this requires a kernel configured with CONFIG_SECCOMP and CONFIG_SECCOMP_FILTER.)")

// decodeSeccomp reads struct sock_filter entries in the machine's byte
// order, as the kernel and bwrap take them.
func decodeSeccomp(data []byte) []unix.SockFilter {
	prog := make([]unix.SockFilter, len(data)/8)
	for i := range prog {
		b := data[8*i:]
		prog[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:]),
		}
	}
	return prog
}

// lookPath finds a command without a slash in the PATH the command gets,
// as execvp does inside the sandbox. The directories are the sandbox's,
// which the caller cannot see before it exists: the caller's view of them
// decides, which is the same wherever the sandbox binds a directory onto
// itself, as in the usual --ro-bind /usr /usr.
func (c *config) lookPath(name string) string {
	pathEnv, ok := c.getenv("PATH")
	if !ok {
		pathEnv = "/bin:/usr/bin"
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := path.Join(dir, name)
		if src, ok := c.hostPath(p); ok {
			if st, err := os.Stat(src); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	return name
}

// extraFiles returns the inherited descriptors to pass on, each at its own
// number.
func (c *config) extraFiles() []*os.File {
	skip := map[int]bool{c.infoFD: true, c.jsonStatusFD: true, c.blockFD: true, c.usernsBlockFD: true, c.seccompFD: true}
	if !c.asPID1 {
		skip[c.syncFD] = true // held by bwrap's PID 1, not the command
	}
	for _, fd := range c.usedFDs {
		skip[fd] = true
	}
	var files []*os.File
	for _, fd := range inherited {
		if skip[fd] {
			continue
		}
		// Only descriptors still open as they were inherited.
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			continue
		}
		nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			continue
		}
		for len(files) <= fd-3 {
			files = append(files, nil)
		}
		files[fd-3] = os.NewFile(uintptr(nfd), "fd"+strconv.Itoa(fd))
	}
	return files
}

// inheritedFDs lists the descriptors above 2 without close-on-exec.
func inheritedFDs() []int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	var fds []int
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			fds = append(fds, fd)
		}
	}
	return fds
}

// report writes --info-fd and the first line of --json-status-fd: the
// sandbox's first process and the namespaces bwrap lists (every one it
// created but the user namespace, and always the mount namespace).
func (c *config) report(pid int) error {
	if c.infoFD == -1 && c.jsonStatusFD == -1 {
		return nil
	}
	nss := map[namespace.Kind]namespace.ID{}
	for _, k := range []namespace.Kind{namespace.Cgroup, namespace.IPC, namespace.Mount, namespace.Net, namespace.PID, namespace.UTS} {
		if id, err := procfs.Lookup(pid, k); err == nil {
			nss[k] = id
		}
	}
	type entry struct {
		name string
		kind namespace.Kind
		on   bool
	}
	var ids []string
	for _, e := range []entry{
		{"cgroup", namespace.Cgroup, c.unshareCgroup},
		{"ipc", namespace.IPC, c.unshareIPC},
		{"mnt", namespace.Mount, true},
		{"net", namespace.Net, c.unshareNet},
		{"pid", namespace.PID, c.unsharePID},
		{"uts", namespace.UTS, c.unshareUTS},
	} {
		if id, ok := nss[e.kind]; ok && e.on && id.Ino != 0 {
			ids = append(ids, fmt.Sprintf("%q: %d", e.name+"-namespace", id.Ino))
		}
	}
	// bwrap's layouts: --info-fd's object spread over lines, then closed;
	// --json-status-fd's on one line, left open for the exit code.
	entries := append([]string{fmt.Sprintf("\"child-pid\": %d", pid)}, ids...)
	if c.infoFD != -1 {
		f := os.NewFile(uintptr(c.infoFD), "info-fd")
		_, err := io.WriteString(f, "{\n    "+strings.Join(entries, ",\n    ")+"\n}\n")
		f.Close()
		if err != nil {
			return dief("Write to info_fd: %s", errnoText(err))
		}
	}
	if c.jsonStatusFD != -1 {
		f := os.NewFile(uintptr(c.jsonStatusFD), "json-status-fd")
		if _, err := io.WriteString(f, "{ "+strings.Join(entries, ", ")+" }\n"); err != nil {
			return dief("Write to info_fd: %s", errnoText(err))
		}
	}
	return nil
}

// lock takes a read lock on each --lock-file, a path in the sandbox, for
// as long as this process lives, which is as long as the command runs.
// (bwrap's PID 1 holds them, for as long as the sandbox lives.)
func (c *config) lock(p *namespace.Process) error {
	if len(c.lockFiles) == 0 {
		return nil
	}
	root, err := unix.Open("/proc/"+strconv.Itoa(p.Pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return dief("Unable to open lock file %s: %s", c.lockFiles[0], errnoText(err))
	}
	defer unix.Close(root)
	for _, name := range c.lockFiles {
		fd, err := unix.Openat2(root, name, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
		if err != nil {
			return dief("Unable to open lock file %s: %s", name, errnoText(err))
		}
		lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: 0}
		if err := unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &lk); err != nil {
			unix.Close(fd)
			return dief("Unable to lock file %s: %s", name, errnoText(err))
		}
		// Kept open: closing would release the lock.
	}
	return nil
}

// spawnError turns the library's error into bwrap's words for the step
// that failed.
func (c *config) spawnError(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "not implemented yet") {
		return dief("%s: not supported yet (%s)", c.flagFor(msg), msg)
	}
	if strings.Contains(msg, "invalid Seccomp") || strings.Contains(msg, "child seccomp") {
		return errSeccompEINVAL
	}
	if strings.Contains(msg, "Hostname is") {
		return dief("Can't set hostname to %s: %s", c.hostname, errnoText(unix.EINVAL))
	}
	var ce *namespace.ChildError
	if m := mountIndex.FindStringSubmatch(msg); m != nil {
		i, _ := strconv.Atoi(m[1])
		if i < len(c.plan) && c.plan[i] != nil {
			o := c.plan[i]
			if o.kind == opRemountRO {
				// bwrap's words, with the path in its setup's view.
				dest := "/newroot" + sandboxPath(o.dest)
				switch {
				case errors.Is(err, unix.ENOENT):
					return dief("Can't remount readonly on %s: realpath(destination): %s", dest, errnoText(err))
				case errors.Is(err, unix.EINVAL):
					return dief("Can't remount readonly on %s: Unable to find \"%s\" in mount table", dest, dest)
				}
			}
			return dief("%s: %s", o.failure(), errnoText(err))
		}
	}
	if errors.As(err, &ce) {
		switch {
		case ce.Step == "execve":
			return dief("execvp %s: %s", c.command[0], errnoText(err))
		case strings.HasPrefix(ce.Step, "chdir"):
			return dief("Can't chdir to %s: %s", c.workDir, errnoText(err))
		case strings.HasPrefix(ce.Step, "sethostname"):
			return dief("Can't set hostname to %s: %s", c.hostname, errnoText(err))
		case strings.HasPrefix(ce.Step, "RequireUserNamespacesDisabled"):
			return dief("creation of new user namespaces was not disabled as requested")
		case strings.HasPrefix(ce.Step, "setns") && strings.HasSuffix(ce.Step, " user"):
			return usernsError(err)
		case strings.HasPrefix(ce.Step, "setns") && strings.HasSuffix(ce.Step, " pid"):
			return pidnsError("Setting pidns failed", err)
		case strings.HasPrefix(ce.Step, "fork into the PID namespace") && c.pidnsFD != -1:
			return pidnsError("Can't fork for --pidns", err)
		case strings.HasPrefix(ce.Step, "unshare pid inside the joined"):
			return pidnsError("unshare pid ns", err)
		}
	}
	if errors.Is(err, os.ErrPermission) && c.unshareUser {
		return dief("No permissions to create a new namespace, likely because the kernel does not allow non-privileged user namespaces. On e.g. debian this can be enabled with 'sysctl kernel.unprivileged_userns_clone=1'.")
	}
	if errors.Is(err, unix.ENOSPC) {
		return dief("Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)")
	}
	return dief("%s", msg)
}

// flagFor names the option behind a library feature that an error names.
func (c *config) flagFor(msg string) string {
	if m := mountIndex.FindStringSubmatch(msg); m != nil {
		i, _ := strconv.Atoi(m[1])
		if i < len(c.plan) && c.plan[i] != nil {
			return c.plan[i].flag
		}
	}
	for _, f := range []struct{ field, flag string }{
		{"Loopback", "--unshare-net"},
		{"Init", "--unshare-pid without --as-pid-1"},
		{"SeccompFilters", "--add-seccomp-fd"},
		{"BlockFD", "--block-fd"},
		{"OnClone", "--info-fd, --json-status-fd or --userns-block-fd"},
		{"DisableUserNamespaces", "--disable-userns"},
		{"RequireUserNamespacesDisabled", "--assert-userns-disabled"},
	} {
		if strings.Contains(msg, f.field) {
			return f.flag
		}
	}
	return "an option"
}

// mountIndex finds the Mounts entry that an error of the library names.
var mountIndex = regexp.MustCompile(`[Mm]ounts?\[?\s?(\d+)`)

// errnoText is the C library's text for the errno in err, as bwrap's
// die_with_error prints it: "No such file or directory".
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

// effectiveCaps returns the capabilities in the process's effective set.
func effectiveCaps() namespace.CapSet {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0
	}
	return namespace.CapSet(uint64(data[0].Effective) | uint64(data[1].Effective)<<32)
}

// parseCap reads a capability name as libcap's cap_from_name does, which
// bwrap uses: "cap_" and the name, in any case, or a number.
func parseCap(s string) (namespace.Cap, error) {
	if _, err := strconv.Atoi(s); err != nil && !strings.HasPrefix(strings.ToLower(s), "cap_") {
		return 0, namespace.ErrUnknownCap
	}
	return namespace.ParseCap(s)
}

func usageLine(argv0 string) string {
	return "usage: " + argv0 + " [OPTIONS...] [--] COMMAND [ARGS...]\n\n"
}

// usageText is bwrap 0.8.0's list of options, word for word, and --argv0,
// which bwrap 0.9.0 added.
func usageText() string {
	return `    --help                       Print this help
    --version                    Print version
    --args FD                    Parse NUL-separated args from FD
    --unshare-all                Unshare every namespace we support by default
    --share-net                  Retain the network namespace (can only combine with --unshare-all)
    --unshare-user               Create new user namespace (may be automatically implied if not setuid)
    --unshare-user-try           Create new user namespace if possible else continue by skipping it
    --unshare-ipc                Create new ipc namespace
    --unshare-pid                Create new pid namespace
    --unshare-net                Create new network namespace
    --unshare-uts                Create new uts namespace
    --unshare-cgroup             Create new cgroup namespace
    --unshare-cgroup-try         Create new cgroup namespace if possible else continue by skipping it
    --userns FD                  Use this user namespace (cannot combine with --unshare-user)
    --userns2 FD                 After setup switch to this user namespace, only useful with --userns
    --disable-userns             Disable further use of user namespaces inside sandbox
    --assert-userns-disabled     Fail unless further use of user namespace inside sandbox is disabled
    --pidns FD                   Use this pid namespace (as parent namespace if using --unshare-pid)
    --uid UID                    Custom uid in the sandbox (requires --unshare-user or --userns)
    --gid GID                    Custom gid in the sandbox (requires --unshare-user or --userns)
    --hostname NAME              Custom hostname in the sandbox (requires --unshare-uts)
    --chdir DIR                  Change directory to DIR
    --clearenv                   Unset all environment variables
    --setenv VAR VALUE           Set an environment variable
    --unsetenv VAR               Unset an environment variable
    --lock-file DEST             Take a lock on DEST while sandbox is running
    --sync-fd FD                 Keep this fd open while sandbox is running
    --bind SRC DEST              Bind mount the host path SRC on DEST
    --bind-try SRC DEST          Equal to --bind but ignores non-existent SRC
    --dev-bind SRC DEST          Bind mount the host path SRC on DEST, allowing device access
    --dev-bind-try SRC DEST      Equal to --dev-bind but ignores non-existent SRC
    --ro-bind SRC DEST           Bind mount the host path SRC readonly on DEST
    --ro-bind-try SRC DEST       Equal to --ro-bind but ignores non-existent SRC
    --bind-fd FD DEST            Bind open directory or path fd on DEST
    --ro-bind-fd FD DEST         Bind open directory or path fd read-only on DEST
    --remount-ro DEST            Remount DEST as readonly; does not recursively remount
    --exec-label LABEL           Exec label for the sandbox
    --file-label LABEL           File label for temporary sandbox content
    --proc DEST                  Mount new procfs on DEST
    --dev DEST                   Mount new dev on DEST
    --tmpfs DEST                 Mount new tmpfs on DEST
    --mqueue DEST                Mount new mqueue on DEST
    --dir DEST                   Create dir at DEST
    --file FD DEST               Copy from FD to destination DEST
    --bind-data FD DEST          Copy from FD to file which is bind-mounted on DEST
    --ro-bind-data FD DEST       Copy from FD to file which is readonly bind-mounted on DEST
    --symlink SRC DEST           Create symlink at DEST with target SRC
    --seccomp FD                 Load and use seccomp rules from FD (not repeatable)
    --add-seccomp-fd FD          Load and use seccomp rules from FD (repeatable)
    --block-fd FD                Block on FD until some data to read is available
    --userns-block-fd FD         Block on FD until the user namespace is ready
    --info-fd FD                 Write information about the running container to FD
    --json-status-fd FD          Write container status to FD as multiple JSON documents
    --new-session                Create a new terminal session
    --die-with-parent            Kills with SIGKILL child process (COMMAND) when bwrap or bwrap's parent dies.
    --as-pid-1                   Do not install a reaper process with PID=1
    --cap-add CAP                Add cap CAP when running as privileged user
    --cap-drop CAP               Drop cap CAP when running as privileged user
    --perms OCTAL                Set permissions of next argument (--bind-data, --file, etc.)
    --size BYTES                 Set size of next argument (only for --tmpfs)
    --chmod OCTAL PATH           Change permissions of PATH (must already exist)
    --argv0 VALUE                Set argv[0] to the value VALUE before running the program
`
}
