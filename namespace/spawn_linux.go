package namespace

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// maxNameLen is the kernel's limit for host and domain names (HOST_NAME_MAX).
// A variable only so that tests can let a longer name reach the child.
var maxNameLen = 64

// beforeMapsTestHook, set only by tests, runs in the parent after the clone
// and before the ID maps are written, while the child waits for them.
var beforeMapsTestHook func(pid int)

// Spawn starts a program in new namespaces, as opts describes, and returns
// once the program runs, or with an error once nothing of the attempt
// remains.
//
// The child is cloned into the namespaces in opts.New. With a new user
// namespace it waits while the parent writes opts.UIDMap and opts.GIDMap;
// then it mounts, sets the host and domain names, enters the new time
// namespace's offsets, changes its credentials and directory, sets up its
// file descriptors and executes the program. An invalid option is an error
// before any clone; a failure in the child is a *ChildError naming the step,
// returned after the child is reaped. Every error names the program and wraps
// the errno: errors.Is(err, os.ErrNotExist) for a missing program,
// errors.Is(err, os.ErrPermission) for a namespace the caller may not create,
// errors.Is(err, ErrNotSupported) for a kind the kernel lacks.
//
// The child is a clone of the calling goroutine's OS thread, so it starts in
// that thread's namespaces, as os/exec's child does. nsgo never leaves a
// thread elsewhere (Do and Unshare end the threads they moved), but other
// code can: a goroutine that locks its thread, calls setns and unlocks it
// without coming back gives a foreign thread to whichever goroutine runs
// next. Spawn does not check for that: proving the thread home is seven
// readlinks, 15 to 20 µs here, on every spawn. Spawns with a
// ParentDeathSignal are cloned from a thread of nsgo's own, which never
// leaves the process's namespaces.
//
// A child that shares the caller's memory until it execs and sets other
// host user or group IDs than the caller's makes the kernel reset the
// dumpable flag of that memory (prctl PR_SET_DUMPABLE), the caller's:
// Spawn puts the flag back once the child has exec'd. A caller that sets
// the flag itself while such a spawn runs in another goroutine must set it
// again after the spawn returns.
//
// The caller must call Wait on the returned Process to release its resources.
func Spawn(opts Options) (*Process, error) {
	return spawnOnThread(nil, opts)
}

// Spawn starts a program inside the handle's namespaces, and in new ones of
// the kinds in opts.New created within them (join a user namespace and create
// a network namespace in it, say); otherwise as the package-level Spawn does.
//
// A handle from Join keeps a pidfd of the process (Linux 5.3), and the child
// enters the namespaces through it in one setns(2) (Linux 5.8), where the
// kernel checks the rights for all of them at once: what a namespace nested
// in another user namespace needs, such as bwrap's or Flatpak's, which no
// order of single joins can enter without privilege. The child then checks
// every namespace it entered against those the handle pinned; if the process
// has moved since Join, the spawn is made again through the handle's
// descriptors. Those serve alone otherwise (a handle from Current,
// FromPath or Unshare, a process gone, an older kernel), as nsenter(1)
// enters: every kind but the user namespace first, then the user namespace,
// then again the kinds that failed with EPERM before it, so that entering the
// user namespace first or last works whichever grants the rights for the
// rest; mount namespaces come last.
//
// Kinds the calling thread is in already are skipped. For a PID namespace,
// joined or new, the child forks once more (CLONE_PARENT), so the program is
// inside it, and is still the caller's child. For a new PID namespace inside
// a joined one (bwrap's --pidns with --unshare-pid), that process makes the
// new namespace and forks again: the kernel makes a PID namespace only
// inside its creator's own. The creator must then be in the user namespace
// that owns the joined PID namespace (or one below it): join that one too,
// or the kernel refuses (EINVAL). Process.Pid is the program's number in the
// caller's namespace, translated as PIDOutside does, so a kernel before 6.11
// serves this only for PID namespaces below the caller's. After entering a
// user namespace the program
// runs as its uid and gid 0, as with nsenter, unless opts.Credential says
// otherwise, or as the caller's own IDs (shown there as the overflow ID) if
// the namespace maps no root. A new user namespace (User in opts.New) is not
// supported here.
func (h *Handle) Spawn(opts Options) (*Process, error) {
	release, err := h.use()
	if err != nil {
		return nil, fmt.Errorf("spawn %s: %w", opts.Path, err)
	}
	defer release()
	return spawnOnThread(h, opts)
}

// spawnOnThread runs spawnIn on the thread that is to clone the child: for a
// program with a ParentDeathSignal, spawnThread, which never ends; else the
// calling goroutine's, locked meanwhile, since the kinds that Handle.Spawn
// skips are those of the cloning thread.
func spawnOnThread(h *Handle, opts Options) (p *Process, err error) {
	if opts.ParentDeathSignal != 0 {
		onSpawnThread(func() { p, err = raceSerialized(h, opts) })
		return p, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return raceSerialized(h, opts)
}

// raceSpawnMu makes spawns one at a time in a race build. With coverage too
// (go test -race -cover), the child's instrumented code calls the race
// runtime, whose locks a copied child inherits in whatever state they were
// in at the fork: one held by a concurrent vfork child running the same
// code in the parent's memory, or by another thread, leaves the copy
// spinning for ever. One spawn at a time removes the first and makes the
// second rare (see choosePath); release builds never take the lock.
var raceSpawnMu sync.Mutex

func raceSerialized(h *Handle, opts Options) (*Process, error) {
	if raceBuild {
		raceSpawnMu.Lock()
		defer raceSpawnMu.Unlock()
	}
	return spawnIn(h, opts)
}

func spawnIn(h *Handle, opts Options) (*Process, error) {
	p, err := spawnVia(h, opts, true)
	if errors.Is(err, errPidfdMoved) {
		// The process left the pinned namespaces since Join: enter
		// them through the handle's descriptors instead.
		p, err = spawnVia(h, opts, false)
	}
	return p, err
}

// errPidfdMoved is the failure of a child that entered the namespaces of
// the handle's process through its pidfd and found them other than those
// the handle pinned.
var errPidfdMoved = errors.New("the process has left the namespaces that were pinned")

// noJoinPidfdTestHook, set only by tests, makes Handle.Spawn enter through
// the handle's descriptors, kind by kind, as without a pidfd.
var noJoinPidfdTestHook bool

// spawnVia is spawnIn, entering h's namespaces through its pidfd if
// usePidfd and it has one.
func spawnVia(h *Handle, opts Options, usePidfd bool) (*Process, error) {
	for try := 1; ; try++ {
		s, err := prepare(&opts, h, usePidfd)
		if err != nil {
			return nil, fmt.Errorf("spawn %s: %w", opts.Path, err)
		}
		p, err := s.start()
		if err == nil {
			return p, nil
		}
		s.closeParentEnds()
		if !errors.Is(err, errRaceStuck) || try == 3 {
			return nil, fmt.Errorf("spawn %s: %w", opts.Path, err)
		}
	}
}

// errRaceStuck is a copied child of a race build that neither ran the
// program nor failed within raceStuckAfter, and was killed (see
// awaitRaceCopy).
var errRaceStuck = errors.New("the child, a copy in a race build, made no progress for 10s and was killed")

// raceStuckAfter is how long a race build waits for a copied child.
const raceStuckAfter = 10 * time.Second

// awaitRaceCopy waits, in a race build, until the child of a copy has run
// the program or reported a failure (fd, the error pipe, is readable). With
// coverage too (go test -race -cover) the compiler instruments the child's
// code with counters that call the race runtime (go.dev/issue/43007), whose
// locks the copy inherits as they were at the fork: one that another thread
// held then leaves the child spinning for ever. That child is killed, and
// Spawn makes another; what it did before is confined to namespaces that
// end with it.
//
// pid is the child, or with forks (after awaitReady, past) the program's
// process, whose intermediates are reaped already: only it is killed then.
func (s *spawn) awaitRaceCopy(fd, pid int, past bool) error {
	if !raceBuild || s.plan.vfork || s.ownStack {
		return nil
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(raceStuckAfter)
	for {
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds())+1)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil || n > 0:
			return nil // readChildReport reads what there is
		case time.Now().Before(deadline):
			continue
		}
		unix.Kill(pid, unix.SIGKILL)
		if s.plan.refork && !past {
			if grand := int(atomic.LoadInt32(s.plan.childPID)); grand != 0 {
				killAndReap(grand)
			}
		}
		if s.plan.reforkNewPID && !past {
			if n := int(atomic.LoadInt32(s.plan.childPID2)); n != 0 {
				if great, err := pidAcross(s.joinedPIDFd, n, false); err == nil {
					killAndReap(great)
				}
			}
		}
		reap(pid)
		return errRaceStuck
	}
}

// spawn holds one Spawn call between checking the options and the program's
// start.
type spawn struct {
	opts        *Options
	plan        childPlan
	joinDesc    string    // the handle's description, for errors
	joinedKinds []Kind    // the kinds in plan.joinFds, in order
	joinedUser  bool      // the child enters a user namespace
	joinedPIDFd int       // with plan.reforkNewPID: the joined PID namespace
	uidMap      idmap.Map // written by the parent; nil: none
	gidMap      idmap.Map
	setGroup    idmap.SetGroups

	closeAfterStart []io.Closer // the child's ends of pipes, /dev/null
	closeAfterWait  []io.Closer // the parent's ends of pipes
	copiers         []func() error
	keepAlive       []*os.File  // files whose descriptors the child takes
	ownStack        bool        // the child runs in this process's memory on a stack of its own
	initStack       *childStack // with Init on its own stack: the init's, kept until Wait
	selfMaps        bool        // the child writes its maps itself (plan.selfUIDMap)
}

// childStack is the stack of a child that runs in the parent's memory: it
// runs nosplit functions only, whose frames the linker keeps small.
type childStack [32 << 10]byte

// stackPool keeps the stacks of children that are past execve or gone.
var stackPool = sync.Pool{New: func() any { return new(childStack) }}

// prepare checks opts and builds everything the child needs, to enter h's
// namespaces if h is not nil. It clones nothing.
func prepare(o *Options, h *Handle, usePidfd bool) (*spawn, error) {
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	s := &spawn{opts: o, uidMap: o.UIDMap, gidMap: o.GIDMap, setGroup: o.SetGroups.Resolve(o.GIDMap)}
	p := &s.plan
	p.syncFd = -1
	p.joinUser = -1
	p.joinPidfd = -1
	p.cloneFlags = uintptr(o.New&^Time) | uintptr(syscall.SIGCHLD)
	if h != nil {
		if err := s.join(h, usePidfd); err != nil {
			return nil, err
		}
	}
	p.unshareTime = o.New.Has(Time)
	p.timeOffsets = timeOffsetsText(o.MonotonicOffset, o.BoottimeOffset)
	p.pdeathsig = uintptr(o.ParentDeathSignal)
	if o.Hostname != "" {
		p.hostname = []byte(o.Hostname)
	}
	if o.Domainname != "" {
		p.domainname = []byte(o.Domainname)
	}
	if err := s.credentials(); err != nil {
		return nil, err
	}
	// The sandbox's families check their options and plan their steps;
	// what they open is closed after the start, or here on failure.
	ok := false
	defer func() {
		if !ok {
			s.closeParentEnds()
		}
	}()
	for _, plan := range []func() error{s.planTerminal, s.planMounts, s.planPrivileges, s.planCgroup, s.planNet, s.planInit} {
		if err := plan(); err != nil {
			return nil, err
		}
	}

	path := o.Path
	if !strings.Contains(path, "/") {
		lp, err := exec.LookPath(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, os.ErrNotExist)
		}
		path = lp
	}
	var err error
	if p.path, err = syscall.BytePtrFromString(path); err != nil {
		return nil, fmt.Errorf("invalid Path: %w", err)
	}
	args := o.Args
	if len(args) == 0 {
		args = []string{o.Path}
	}
	if p.argv, err = cStrings(args); err != nil {
		return nil, fmt.Errorf("invalid Args: %w", err)
	}
	env := o.Env
	if env == nil {
		env = os.Environ()
	} else {
		env = dedupEnv(env)
	}
	envArr, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return nil, fmt.Errorf("invalid Env: %w", err)
	}
	p.envv = &envArr[0]
	if o.Dir != "" {
		if p.dir, err = syscall.BytePtrFromString(o.Dir); err != nil {
			return nil, fmt.Errorf("invalid Dir: %w", err)
		}
	}
	if err := s.planDirFallbacks(env, envArr); err != nil {
		return nil, err
	}
	if err := s.choosePath(); err != nil {
		return nil, err
	}
	if err := s.files(); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// A childPath is one of the three ways the child is made: each is, in
// effect, a program of its own, and tests force each one (see
// forceChildPath).
type childPath int

const (
	pathAuto     childPath = iota // as choosePath decides
	pathVfork                     // CLONE_VM|CLONE_VFORK on the caller's stack
	pathOwnStack                  // CLONE_VM on a stack of the child's own
	pathCopy                      // a copy of the process, as fork(2)
)

// forceChildPath, set only by tests, makes every Spawn take that path,
// where it can work at all: the one that other architectures (pathCopy), or
// other options, would take.
var forceChildPath childPath

// killAfterReforkTestHook, set only by tests, makes a child that forks the
// program's process SIGKILL itself right after the fork.
var killAfterReforkTestHook bool

// choosePath decides how the child is made. A child that waits for its maps
// runs on a stack of its own, since the parent writes them meanwhile; one
// that waits for nothing runs on the parent's (vfork). A child that enters
// or creates a time namespace is a copy: setns and unshare of time refuse a
// task that shares its memory. So is every child on an architecture without
// the assembly for the others.
//
// Under the race detector no child runs on its own stack: with coverage too
// (go test -race -cover, which a program cannot detect reliably), the
// compiler instruments the child's functions whatever their pragmas
// (go.dev/issue/43007), with counters that call the race runtime, which
// needs a goroutine such a child does not have. A copy runs them, but can
// deadlock in the race runtime if another thread held one of its locks at
// the fork (spawns are one at a time there, see raceSpawnMu, which makes
// that rare, not impossible). So copies are kept to what needs them: a child whose maps map
// only the caller's own IDs writes them itself, from inside the namespace,
// and is a vfork child; only other maps, which need the parent's
// privileges or newuidmap, make a copy.
func (s *spawn) choosePath() error {
	o, p := s.opts, &s.plan
	needSync := o.UIDMap != nil || o.GIDMap != nil
	path := pathCopy
	if haveVfork && !o.New.Has(Time) && !slices.Contains(s.joinedKinds, Time) {
		path = pathVfork
		switch {
		case o.Init, o.DisableUserNamespaces:
			// Never the caller's memory. Init's init outlives the
			// program's execve, in the program's PID namespace: it
			// would let the program write that memory through
			// /proc/1/mem (a copy, made not dumpable, see childInit).
			// DisableUserNamespaces' child makes itself dumpable to
			// write its second user namespace's maps: a flag of the
			// memory, which it would set for the caller too.
			path = pathCopy
		case s.childWaits() && raceBuild:
			path = pathCopy
		case s.childWaits():
			path = pathOwnStack
		case !needSync:
		case !raceBuild:
			path = pathOwnStack
		case !s.selfMapsPossible():
			path = pathCopy
		}
	}
	if f := forceChildPath; f != pathAuto {
		if f != pathCopy && !haveVfork {
			return errors.New("test: no CLONE_VM child on this architecture")
		}
		if f != pathCopy && (o.Init || o.DisableUserNamespaces) {
			return errors.New("test: Init and DisableUserNamespaces take a copy of the caller, never its memory")
		}
		if f == pathVfork && s.childWaits() {
			return errors.New("test: a vfork child cannot wait for OnClone or BlockFD, or stay as Init")
		}
		if f == pathVfork && needSync && !s.selfMapsPossible() {
			return errors.New("test: a vfork child writes only its own single-ID maps, with setgroups denied")
		}
		path = f
	}
	s.ownStack = path == pathOwnStack
	p.vfork = path == pathVfork
	if p.vfork && needSync {
		s.selfMaps = true
		if s.uidMap != nil {
			p.selfUIDMap = []byte(s.uidMap.String())
		}
		if s.gidMap != nil {
			p.selfGIDMap = []byte(s.gidMap.String())
			p.selfDenySetgroups = true
		}
	}
	p.testKillAfterRefork = killAfterReforkTestHook
	return nil
}

// selfMapsPossible reports whether the child may write its maps itself,
// from inside its new user namespace, as its creator (user_namespaces(7)):
// each map one line of the caller's own effective ID, and setgroups denied
// before a gid map.
func (s *spawn) selfMapsPossible() bool {
	own := func(m idmap.Map, id int) bool {
		return m == nil || len(m) == 1 && m[0].Count == 1 && int(m[0].Outside) == id
	}
	return own(s.uidMap, os.Geteuid()) && own(s.gidMap, os.Getegid()) &&
		(s.gidMap == nil || s.setGroup == idmap.Deny)
}

// joinOrder is the order in which the child enters a handle's namespaces,
// the user namespace aside: mount last.
var joinOrder = []Kind{Cgroup, IPC, UTS, Net, PID, Time, Mount}

// join plans the child's entry into h's namespaces, then the creation of the
// kinds in New inside them.
func (s *spawn) join(h *Handle, usePidfd bool) error {
	o, p := s.opts, &s.plan
	if o.New.Has(User) {
		return errors.New("a new user namespace inside a Handle's namespaces is not supported")
	}
	own, err := threadSnapshot()
	if err != nil {
		return err
	}
	for _, k := range append([]Kind{User}, joinOrder...) {
		id, ok := h.ids[k]
		// Inode numbers, as Do compares them: the handle holds its
		// namespaces alive (see snapshot).
		if !ok || id.Ino == own.inoOf(k, k == PID || k == Time) {
			continue
		}
		if k == User {
			p.joinUser, _ = h.fds.get(k)
			s.joinedUser = true
			continue
		}
		fd, _ := h.fds.get(k)
		p.joinFds = append(p.joinFds, fd)
		p.joinTypes = append(p.joinTypes, uintptr(k))
		s.joinedKinds = append(s.joinedKinds, k)
		if k == PID {
			p.refork = true
		}
	}
	if o.New.Has(PID) && slices.Contains(s.joinedKinds, PID) {
		// unshare and clone make a PID namespace only inside the one the
		// creator itself is in, not the one it joined for its children
		// (EINVAL): the process forked into the joined one makes it and
		// forks again (childRefork). The parent learns that second PID as
		// the joined namespace numbers it, and translates it: check now
		// that it can.
		fd, _ := h.fds.get(PID)
		if _, err := pidAcross(fd, 1, false); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("a new PID namespace inside the joined PID namespace of %s: %w", h.what(), err)
		}
		p.reforkNewPID, s.joinedPIDFd = true, fd
	}
	if h.havePidfd && usePidfd && !noJoinPidfdTestHook {
		p.joinPidfd = h.pidfd
		for i, k := range s.joinedKinds {
			p.joinPidfdFlags |= p.joinTypes[i]
			p.joinNames = append(p.joinNames, linkFor(k, k == PID || k == Time).cname)
			p.joinIno = append(p.joinIno, h.ids[k].Ino)
		}
		if s.joinedUser {
			p.joinPidfdFlags |= unix.CLONE_NEWUSER
			p.joinUserName, p.joinUserIno = ownLink(User).cname, h.ids[User].Ino
		}
	}
	// New kinds are made after the joins, inside the joined namespaces.
	p.cloneFlags = uintptr(syscall.SIGCHLD)
	// OnClone waits for the program's process, in its namespaces: the
	// child's PID and namespaces would be neither.
	p.awaitLate = o.OnClone != nil
	p.unshareFlags = uintptr(o.New &^ Time)
	if p.reforkNewPID {
		p.unshareFlags &^= unix.CLONE_NEWPID
	}
	if o.New.Has(PID) {
		p.refork = true
	}
	s.joinDesc = h.what()
	return nil
}

// checkOptions rejects every option that cannot work, before any clone.
func checkOptions(o *Options) error {
	switch {
	case o.Path == "":
		return errors.New("empty Path")
	case o.New&^All != 0:
		return fmt.Errorf("invalid New: bits that are no namespace kind: %#x", uint64(o.New&^All))
	}
	if err := procfs.CheckSupported(o.New); err != nil {
		return err
	}
	needs := func(field string, k Kind) error {
		if !o.New.Has(k) {
			return fmt.Errorf("%s needs a new %s namespace (New has %s)", field, k, o.New)
		}
		return nil
	}
	for _, c := range []struct {
		set   bool
		field string
		kind  Kind
	}{
		{o.UIDMap != nil, "UIDMap", User},
		{o.GIDMap != nil, "GIDMap", User},
		{o.Hostname != "", "Hostname", UTS},
		{o.Domainname != "", "Domainname", UTS},
		{o.MountProc, "MountProc", Mount | PID},
		{o.MonotonicOffset != 0, "MonotonicOffset", Time},
		{o.BoottimeOffset != 0, "BoottimeOffset", Time},
	} {
		if c.set {
			if err := needs(c.field, c.kind); err != nil {
				return err
			}
		}
	}
	for _, m := range []struct {
		field string
		m     idmap.Map
		own   func() (idmap.Map, error)
	}{{"UIDMap", o.UIDMap, callerUIDMap.get}, {"GIDMap", o.GIDMap, callerGIDMap.get}} {
		if m.m == nil {
			continue
		}
		if err := m.m.Validate(); err != nil {
			return fmt.Errorf("%s: %w", m.field, err)
		}
		// Outside IDs are the caller's namespace's IDs: the kernel refuses
		// any that its own map does not map.
		own, err := m.own()
		if err != nil {
			return err
		}
		for i, r := range m.m {
			if !own.CoversInside(r.Outside, r.Count) {
				return fmt.Errorf("%s: %w", m.field, &idmap.RangeError{Index: i, Range: r,
					Problem: fmt.Sprintf("outside IDs %d-%d are not mapped in the caller's user namespace (its map: %q)",
						r.Outside, uint64(r.Outside)+uint64(r.Count)-1, own.String())})
			}
		}
	}
	for _, n := range []struct{ field, v string }{{"Hostname", o.Hostname}, {"Domainname", o.Domainname}} {
		if len(n.v) > maxNameLen {
			return fmt.Errorf("%s is %d bytes, longer than the kernel's %d", n.field, len(n.v), maxNameLen)
		}
	}
	if o.SetGroups < idmap.Auto || o.SetGroups > idmap.Deny {
		return fmt.Errorf("invalid SetGroups %d", int(o.SetGroups))
	}
	if sig := o.ParentDeathSignal; sig < 0 || sig > 64 {
		return fmt.Errorf("invalid ParentDeathSignal %d", int(sig))
	}
	return nil
}

// credentials decides which IDs the child takes before execve.
func (s *spawn) credentials() error {
	o, p := s.opts, &s.plan
	newUser := o.New.Has(User)
	if c := o.Credential; c != nil {
		if c.NoSetGroups && len(c.Groups) > 0 {
			return errors.New("Credential.Groups and Credential.NoSetGroups: NoSetGroups leaves the supplementary groups as they are")
		}
		if newUser {
			if _, ok := o.UIDMap.Contains(c.UID); !ok {
				return fmt.Errorf("Credential.UID %d is not mapped by UIDMap %q", c.UID, o.UIDMap.String())
			}
			if _, ok := o.GIDMap.Contains(c.GID); !ok {
				return fmt.Errorf("Credential.GID %d is not mapped by GIDMap %q", c.GID, o.GIDMap.String())
			}
			if len(c.Groups) > 0 && s.setGroup == idmap.Deny {
				return errors.New("Credential.Groups needs setgroups(2), which SetGroups denies in the new user namespace")
			}
		}
		p.setUID, p.uid = true, uintptr(c.UID)
		p.setGID, p.gid = true, uintptr(c.GID)
		if !c.NoSetGroups && (!newUser || s.setGroup == idmap.Allow) {
			p.setGroups, p.groups = true, append([]uint32(nil), c.Groups...)
		}
		return nil
	}
	if s.joinedUser {
		// As nsenter: root of the joined namespace, no supplementary groups
		// where setgroups is allowed there; unlike nsenter, the caller's
		// own IDs where the namespace maps no root.
		p.setUID, p.setGID, p.setGroups, p.credsBestEffort = true, true, true, true
		return nil
	}
	if !newUser {
		return nil
	}
	pick := func(field string, m idmap.Map, own int) (uintptr, bool, error) {
		if m == nil {
			return 0, false, nil
		}
		if _, ok := m.Contains(0); ok {
			return 0, true, nil
		}
		if in, ok := m.Inside(uint32(own)); ok {
			return uintptr(in), true, nil
		}
		return 0, false, fmt.Errorf("%s %q maps neither 0 nor the caller's ID %d inside: set Credential", field, m.String(), own)
	}
	var err error
	if p.uid, p.setUID, err = pick("UIDMap", o.UIDMap, os.Geteuid()); err != nil {
		return err
	}
	if p.gid, p.setGID, err = pick("GIDMap", o.GIDMap, os.Getegid()); err != nil {
		return err
	}
	p.setGroups = p.setGID && s.setGroup == idmap.Allow
	return nil
}

// timeOffsetsText returns the text for /proc/PID/timens_offsets, or nil when
// both offsets are zero.
func timeOffsetsText(mono, boot time.Duration) []byte {
	var b []byte
	for _, c := range []struct {
		name string
		d    time.Duration
	}{{"monotonic", mono}, {"boottime", boot}} {
		if c.d == 0 {
			continue
		}
		sec, nsec := c.d/time.Second, c.d%time.Second
		if nsec < 0 {
			sec, nsec = sec-1, nsec+time.Second
		}
		b = fmt.Appendf(b, "%s %d %d\n", c.name, int64(sec), int64(nsec))
	}
	return b
}

// dedupEnv returns env with only the last of the entries for each key, in
// the order of those last entries, as os/exec does.
func dedupEnv(env []string) []string {
	seen := make(map[string]bool, len(env))
	out := make([]string, 0, len(env))
	for i := len(env) - 1; i >= 0; i-- {
		key, _, _ := strings.Cut(env[i], "=")
		if !seen[key] {
			seen[key] = true
			out = append(out, env[i])
		}
	}
	slices.Reverse(out)
	return out
}

// planDirFallbacks prepares DirFallbacks, and an environment for each
// when env has PWD=Dir: a copy of envArr, env's C strings, with that one
// entry changed.
func (s *spawn) planDirFallbacks(env []string, envArr []*byte) error {
	o, p := s.opts, &s.plan
	if len(o.DirFallbacks) == 0 {
		return nil
	}
	if o.Dir == "" {
		return errors.New("DirFallbacks without Dir: they are tried when Dir cannot be entered")
	}
	pwd := slices.Index(env, "PWD="+o.Dir)
	for i, d := range o.DirFallbacks {
		b, err := syscall.BytePtrFromString(d)
		if err != nil || d == "" {
			return fmt.Errorf("invalid DirFallbacks[%d] %q: %w", i, d, cmp.Or(err, errors.New("empty")))
		}
		p.dirFallbacks = append(p.dirFallbacks, b)
		if pwd >= 0 {
			e := slices.Clone(envArr)
			e[pwd], _ = syscall.BytePtrFromString("PWD=" + d) // d has no NUL: checked above
			p.fallbackEnvs = append(p.fallbackEnvs, &e[0])
		}
	}
	return nil
}

// cStrings returns a nil-terminated array of C strings.
func cStrings(ss []string) (**byte, error) {
	arr, err := syscall.SlicePtrFromStrings(ss)
	if err != nil {
		return nil, err
	}
	return &arr[0], nil
}

// files sets up the child's descriptors: stdio and ExtraFiles.
func (s *spawn) files() error {
	o := s.opts
	var devNull *os.File
	null := func() (int, error) {
		if devNull == nil {
			f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
			if err != nil {
				return -1, err
			}
			devNull = f
			s.closeAfterStart = append(s.closeAfterStart, f)
		}
		return int(devNull.Fd()), nil
	}
	fds := make([]int, 3+len(o.ExtraFiles))

	// Standard input.
	switch r := o.Stdin.(type) {
	case nil:
		fd, err := null()
		if err != nil {
			return err
		}
		fds[0] = fd
	case *os.File:
		fds[0] = int(r.Fd())
		s.keepAlive = append(s.keepAlive, r)
	default:
		pr, pw, err := os.Pipe()
		if err != nil {
			return err
		}
		fds[0] = int(pr.Fd())
		s.closeAfterStart = append(s.closeAfterStart, pr)
		s.closeAfterWait = append(s.closeAfterWait, pw)
		s.copiers = append(s.copiers, func() error {
			_, err := io.Copy(pw, r)
			if errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) {
				err = nil // the program stopped reading, as exec.Cmd treats it
			}
			if cerr := pw.Close(); err == nil && !errors.Is(cerr, os.ErrClosed) {
				err = cerr
			}
			return err
		})
	}

	// Standard output and error; one pipe when both are the same writer.
	var shared *os.File
	for i, w := range []io.Writer{o.Stdout, o.Stderr} {
		switch w := w.(type) {
		case nil:
			fd, err := null()
			if err != nil {
				return err
			}
			fds[1+i] = fd
		case *os.File:
			fds[1+i] = int(w.Fd())
			s.keepAlive = append(s.keepAlive, w)
		default:
			if i == 1 && shared != nil && sameWriter(o.Stdout, o.Stderr) {
				fds[2] = int(shared.Fd())
				continue
			}
			pr, pw, err := os.Pipe()
			if err != nil {
				return err
			}
			shared = pw
			fds[1+i] = int(pw.Fd())
			s.closeAfterStart = append(s.closeAfterStart, pw)
			s.closeAfterWait = append(s.closeAfterWait, pr)
			s.copiers = append(s.copiers, func() error {
				_, err := io.Copy(w, pr)
				pr.Close()
				return err
			})
		}
	}
	for i, f := range o.ExtraFiles {
		fds[3+i] = -1
		if f != nil {
			fds[3+i] = int(f.Fd())
			s.keepAlive = append(s.keepAlive, f)
		}
	}
	s.plan.fds = fds
	return nil
}

// sameWriter reports whether a and b are the same comparable writer, without
// panicking on writers that cannot be compared.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() { recover() }()
	return a == b
}

// closeParentEnds closes what Spawn opened when it fails.
func (s *spawn) closeParentEnds() {
	for _, c := range s.closeAfterStart {
		c.Close()
	}
	for _, c := range s.closeAfterWait {
		c.Close()
	}
	s.closeAfterStart, s.closeAfterWait = nil, nil
}

// start clones the child, writes its maps, releases it and waits until the
// program runs or the child has reported a failure and been reaped.
func (s *spawn) start() (*Process, error) {
	p := &s.plan
	needSync := (s.uidMap != nil || s.gidMap != nil) && !s.selfMaps || s.opts.OnClone != nil
	var errPipe, syncPipe [2]int

	if p.refork {
		// Where the kernel stores the PID of the program's process: shared
		// with the child, even a copy. With a second fork, the first one
		// made a copy even on the own-stack path.
		p.childPID, p.pidWord = &p.pidWord, 0
		if p.reforkNewPID || !p.vfork && !s.ownStack {
			page, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
			if err != nil {
				return nil, os.NewSyscallError("mmap", err)
			}
			defer unix.Munmap(page)
			p.childPID = (*int32)(unsafe.Pointer(&page[0]))
			p.childPID2 = (*int32)(unsafe.Pointer(&page[4]))
		}
	}

	syscall.ForkLock.Lock()
	if err := unix.Pipe2(errPipe[:], unix.O_CLOEXEC); err != nil {
		syscall.ForkLock.Unlock()
		return nil, os.NewSyscallError("pipe2", err)
	}
	if needSync {
		if err := unix.Pipe2(syncPipe[:], unix.O_CLOEXEC); err != nil {
			syscall.ForkLock.Unlock()
			unix.Close(errPipe[0])
			unix.Close(errPipe[1])
			return nil, os.NewSyscallError("pipe2", err)
		}
		p.syncFd = syncPipe[0]
	}
	p.errFd = errPipe[1]
	p.syncWriteFd = syncPipe[1]
	if s.ownStack {
		// start returns once the child is past execve or reaped: then the
		// stack is free again.
		stack := stackPool.Get().(*childStack)
		if s.opts.Init {
			// The init runs on it until Wait reaps it (see keepForInit);
			// failures reap it before start returns.
			s.initStack = stack
		} else {
			defer stackPool.Put(stack)
		}
		p.stackLo = uintptr(unsafe.Pointer(&stack[0]))
		p.stackTop = uintptr(unsafe.Pointer(&stack[len(stack)-64]))
	}
	if (p.vfork || s.ownStack) && s.changesHostIDs() {
		// The child shares the caller's memory until it execs; start
		// returns once it has, or has been reaped.
		holdDumpable()
		defer releaseDumpable()
	}
	// A pidfd of the program from clone3, where it makes the program's
	// process (not a child that forks it); else newProcess opens one.
	p.wantPidfd, p.pidfd = !p.refork, -1
	pid, errno := forkExec(p)
	syscall.ForkLock.Unlock()
	runtime.KeepAlive(s.keepAlive)
	runtime.KeepAlive(p)
	var pidfd *os.File
	if p.pidfd >= 0 {
		pidfd = os.NewFile(uintptr(p.pidfd), "pidfd")
		defer func() {
			if pidfd != nil { // not handed to the Process
				pidfd.Close()
			}
		}()
	}

	unix.Close(errPipe[1])
	if needSync {
		unix.Close(syncPipe[0])
	}
	defer unix.Close(errPipe[0])
	if errno != 0 {
		if needSync {
			unix.Close(syncPipe[1])
		}
		if p.intoCgroup {
			if err := s.cgroupCloneError(errno); err != nil {
				return nil, err
			}
		}
		return nil, cloneError(errno, Kind(p.cloneFlags))
	}
	for _, c := range s.closeAfterStart {
		c.Close()
	}
	s.closeAfterStart = nil

	if needSync {
		if p.awaitLate {
			// Handle.Spawn: OnClone waits for the program's process,
			// in its namespaces.
			var err error
			if pid, err = s.awaitReady(errPipe[0], pid); err != nil {
				unix.Close(syncPipe[1])
				return nil, err
			}
		}
		if err := s.writeMaps(pid, syncPipe[1]); err != nil {
			return nil, err
		}
	}

	warmFindProcess()
	if err := s.awaitRaceCopy(errPipe[0], pid, p.awaitLate); err != nil {
		return nil, err
	}
	err := s.readChildReport(errPipe[0])
	if p.refork && !p.awaitLate {
		if pid, err = s.programPID(pid, err); pid == 0 {
			return nil, err
		}
	}
	if err != nil {
		reap(pid)
		return nil, err
	}
	proc, err := s.newProcess(pid, pidfd)
	pidfd = nil // the Process's now, or closed by newProcess
	if err == nil && s.opts.Init {
		proc.releaseInit = keepForInit(s, s.initStack)
	}
	return proc, err
}

// dumpable keeps the caller's dumpable flag (prctl PR_GET_DUMPABLE) while
// children share its memory. The flag is the memory's (the mm's), not a
// task's: the kernel sets it to fs.suid_dumpable (0 by default) for a task
// whose credentials change (a child that sets IDs mapped to other host IDs
// than the caller's, or drops privileges), and a CLONE_VM child (vfork, own
// stack, and the program's process that such a child forks for
// Handle.Spawn) does that to the caller's memory: a caller would lose its core dumps and
// its same-user ptrace access after such a spawn. The first of
// overlapping spawns that change host IDs saves the flag; the last one to
// end puts it back if it changed, which also undoes a change the caller
// made itself meanwhile (see Spawn). Spawns that keep the caller's host
// IDs, and copies, touch nothing.
var dumpable struct {
	sync.Mutex
	holds int
	saved int
}

// changesHostIDs reports whether the child may set user or group IDs that
// are other host IDs than the caller's effective ones, for which the
// kernel resets the dumpable flag of the child's memory. Joined user
// namespaces count as such: their maps are not read here.
func (s *spawn) changesHostIDs() bool {
	p, o := &s.plan, s.opts
	if !p.setUID && !p.setGID {
		return false
	}
	if s.joinedUser {
		return true
	}
	uid, gid := uint32(p.uid), uint32(p.gid)
	if o.New.Has(User) {
		var ok bool
		if p.setUID {
			if uid, ok = o.UIDMap.Contains(uid); !ok {
				return true
			}
		}
		if p.setGID {
			if gid, ok = o.GIDMap.Contains(gid); !ok {
				return true
			}
		}
	}
	return p.setUID && int(uid) != os.Geteuid() || p.setGID && int(gid) != os.Getegid()
}

// holdDumpable is called before a child that shares the caller's memory
// is cloned.
func holdDumpable() {
	dumpable.Lock()
	defer dumpable.Unlock()
	if dumpable.holds == 0 {
		dumpable.saved, _ = unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	}
	dumpable.holds++
}

// releaseDumpable is called once that child has exec'd or is gone.
func releaseDumpable() {
	dumpable.Lock()
	defer dumpable.Unlock()
	dumpable.holds--
	if dumpable.holds > 0 {
		return
	}
	if d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); err == nil && d != dumpable.saved {
		// prctl takes 0 and 1 only; 2 (suid_dumpable's "root only") stays.
		unix.Prctl(unix.PR_SET_DUMPABLE, uintptr(dumpable.saved), 0, 0, 0)
	}
}

// warmFindProcess makes os.FindProcess, through which Wait reaps the
// program, do its one check of the process's life here, while the child
// sets up the program (on another CPU, where there is one) and the caller
// waits for it anyway: the first os.FindProcess of a process checks that
// pidfds work, by pidfd_open, waitid, pidfd_send_signal and a vfork clone,
// which took 0.15-2.4 ms (median 0.3 ms) here, on the path from the
// program's exit to the first Wait's return.
var warmFindProcess = sync.OnceFunc(func() {
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Release()
	}
})

// programPID reaps the child, which forked the program's process and
// exited, or failed or was killed before, and returns the program's PID
// (see secondFork), or 0 and an error if there is none. err is what the
// child reported.
func (s *spawn) programPID(child int, err error) (int, error) {
	// The kernel stored the new process's PID before the fork returned,
	// if there is one.
	ws := reapStatus(child)
	pid := int(atomic.LoadInt32(s.plan.childPID))
	if pid == 0 {
		if err == nil {
			err = fmt.Errorf("the child ended (%s) before it forked the program's process", waitStatusText(ws))
		}
		return 0, err
	}
	if s.plan.reforkNewPID {
		return s.secondFork(pid, err)
	}
	return pid, err
}

// awaitReady waits, for Handle.Spawn's OnClone, until the program's process
// reports that it is in its namespaces (stepReady) and returns its PID, the
// intermediate processes reaped; or, if the child failed or ended before,
// the error, with every process reaped.
func (s *spawn) awaitReady(fd, child int) (int, error) {
	if err := s.awaitRaceCopy(fd, child, false); err != nil {
		return 0, err
	}
	var report [3]uint32
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&report)), unsafe.Sizeof(report))
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err == nil && n == len(buf) && report[0] == stepReady {
			break
		}
		// A failure, or the end: read what follows as start does, then
		// reap as it does.
		var failure error
		switch {
		case err != nil:
			failure = os.NewSyscallError("read from child", err)
		case n == len(buf):
			failure = s.reportError(report)
		case n != 0:
			failure = fmt.Errorf("short report from child: %d bytes", n)
		}
		if n != 0 {
			if rest := s.readChildReport(fd); failure == nil {
				failure = rest
			}
		}
		pid := child
		if s.plan.refork {
			pid, failure = s.programPID(child, failure)
		}
		if pid != 0 {
			ws := reapStatus(pid)
			if failure == nil {
				failure = fmt.Errorf("the child ended (%s) before it was in its namespaces", waitStatusText(ws))
			}
		}
		return 0, failure
	}
	if !s.plan.refork {
		return child, nil
	}
	pid, err := s.programPID(child, nil)
	if pid == 0 && err == nil {
		err = errors.New("no program's process after the child's report")
	}
	return pid, err
}

// secondFork reaps the process that the child forked into the joined PID
// namespace, which made the new one there, forked the program's process into
// it and exited (see childRefork), and returns that second process's PID,
// translated into the caller's namespace; or 0 and an error if there is none.
// err is what the child reported: with it, the second process (if any)
// failed and exits by itself, and its PID is returned for reaping.
func (s *spawn) secondFork(mid int, err error) (int, error) {
	ws := reapStatus(mid)
	n := int(atomic.LoadInt32(s.plan.childPID2))
	if n == 0 {
		if err == nil {
			err = fmt.Errorf("the process forked into the joined PID namespace ended (%s) before it forked the program's process", waitStatusText(ws))
		}
		return 0, err
	}
	pid, terr := pidAcross(s.joinedPIDFd, n, false)
	if terr != nil {
		// Checked in join, so not expected: the process is then beyond
		// reach, and ends when its PID namespace's parent does.
		return 0, fmt.Errorf("the program's process, %d in the joined PID namespace: %w", n, terr)
	}
	return pid, err
}

// onClone calls OnClone. If it panics, the child (waiting for syncW, which
// is closed) is killed and reaped before the panic goes on.
func (s *spawn) onClone(pid, syncW int) error {
	done := false
	defer func() {
		if !done {
			unix.Close(syncW)
			killAndReap(pid)
		}
	}()
	err := s.opts.OnClone(pid)
	done = true
	if err != nil {
		return fmt.Errorf("OnClone: %w", err)
	}
	return nil
}

// writeMaps writes the child's ID maps and releases it through the sync
// pipe, whose write end it closes. On failure it reaps the child, killing it
// first unless it exited, which the error then says.
func (s *spawn) writeMaps(pid, syncW int) error {
	if beforeMapsTestHook != nil {
		beforeMapsTestHook(pid)
	}
	var err error
	if s.opts.OnClone != nil {
		err = s.onClone(pid, syncW)
	}
	if err == nil && (s.uidMap != nil || s.gidMap != nil) {
		err = idmap.Write(pid, s.uidMap, s.gidMap, s.setGroup)
	}
	if err == nil {
		_, err = unix.Write(syncW, []byte{0})
		if err != nil {
			err = os.NewSyscallError("write to child", err)
		}
	}
	unix.Close(syncW)
	if err != nil {
		if ws, exited := reapIfExited(pid); exited {
			before := "its ID maps were written"
			if s.uidMap == nil && s.gidMap == nil {
				before = "OnClone released it"
			}
			return fmt.Errorf("the child exited (%s) before %s: %w", waitStatusText(ws), before, err)
		}
		killAndReap(pid)
	}
	return err
}

// A finalMap is one of the caller's own ID maps, read once written: a Go
// process never leaves its user namespace (see threadMutable), and the kernel
// takes a namespace's map only once, so a map that is not empty is final.
type finalMap struct {
	mu   sync.Mutex
	m    idmap.Map
	read func(pid int) (idmap.Map, error)
}

var (
	callerUIDMap = &finalMap{read: idmap.ReadUIDMap}
	callerGIDMap = &finalMap{read: idmap.ReadGIDMap}
)

func (f *finalMap) get() (idmap.Map, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m != nil {
		return f.m, nil
	}
	m, err := f.read(os.Getpid())
	if err == nil && len(m) > 0 {
		f.m = m
	}
	return m, err
}

// readChildReport reads the child's report until end-of-file, which comes
// when the program runs or every child has exited, and returns the failure it
// reports, a *ChildError, or nil. Reading goes on to the end after a
// failure: end-of-file says that no child writes any more.
func (s *spawn) readChildReport(fd int) error {
	var report [3]uint32 // step, errno, index: what childFailAt writes
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&report)), unsafe.Sizeof(report))
	var failure error
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return os.NewSyscallError("read from child", err)
		case n == 0:
			return failure
		case n != len(buf):
			return fmt.Errorf("short report from child: %d bytes", n)
		case failure == nil:
			failure = s.reportError(report)
		}
	}
}

// reportError is the error of a failure that the child reported.
func (s *spawn) reportError(report [3]uint32) error {
	if report[0] == stepPidfdMoved {
		return errPidfdMoved
	}
	return &ChildError{Step: s.stepName(report[0], report[2]), Err: syscall.Errno(report[1])}
}

// stepName describes a step of the child for a ChildError.
func (s *spawn) stepName(step, idx uint32) string {
	o, p := s.opts, &s.plan
	for _, family := range []func(step, idx uint32) string{s.mountStepName, s.termStepName, s.privStepName, s.cgroupStepName, s.netStepName, s.initStepName} {
		if name := family(step, idx); name != "" {
			return name
		}
	}
	switch step {
	case stepSethostname:
		return fmt.Sprintf("sethostname %q", o.Hostname)
	case stepSetdomainname:
		return fmt.Sprintf("setdomainname %q", o.Domainname)
	case stepUnshareTime:
		return "unshare time namespace"
	case stepOpenTimens:
		return "open /proc/self/timens_offsets"
	case stepWriteTimens:
		return fmt.Sprintf("write /proc/self/timens_offsets %q", p.timeOffsets)
	case stepOpenTimeNS:
		return "open /proc/self/ns/time_for_children"
	case stepOpenProc:
		return "open /proc on procfs"
	case stepSetnsTime:
		return "setns time namespace"
	case stepSetgroups:
		return "setgroups"
	case stepSetgid:
		return fmt.Sprintf("setresgid %d", p.gid)
	case stepSetuid:
		return fmt.Sprintf("setresuid %d", p.uid)
	case stepPdeathsig:
		return "prctl PR_SET_PDEATHSIG"
	case stepChdir:
		return "chdir " + o.Dir
	case stepDupFd:
		return "set up file descriptors"
	case stepExec:
		return "execve"
	case stepSetnsUser:
		return fmt.Sprintf("setns %s user", s.joinDesc)
	case stepUnshare:
		return fmt.Sprintf("unshare %s", Kind(p.unshareFlags))
	case stepRefork:
		return "fork into the PID namespace"
	case stepReforkUnsharePID:
		// EINVAL is the kernel's answer to a creator outside the user
		// namespace that owns the joined PID namespace (or one below it).
		return "unshare pid inside the joined PID namespace (it takes the user namespace that owns it, or one below it)"
	case stepSelfSetgroups:
		return "write deny to /proc/self/setgroups"
	case stepSelfUIDMap:
		return fmt.Sprintf("write /proc/self/uid_map %q", p.selfUIDMap)
	case stepSelfGIDMap:
		return fmt.Sprintf("write /proc/self/gid_map %q", p.selfGIDMap)
	}
	if i := int(step) - int(stepSetns); i >= 0 && i < len(s.joinedKinds) {
		return fmt.Sprintf("setns %s %s", s.joinDesc, s.joinedKinds[i])
	}
	return fmt.Sprintf("step %d", step)
}

// reapIfExited reaps pid if it has exited already.
func reapIfExited(pid int) (unix.WaitStatus, bool) {
	var ws unix.WaitStatus
	for {
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		return ws, err == nil && got == pid
	}
}

func waitStatusText(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + unix.SignalName(ws.Signal())
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}

func killAndReap(pid int) {
	unix.Kill(pid, unix.SIGKILL)
	reap(pid)
}

func reap(pid int) { reapStatus(pid) }

// reapStatus waits for pid and returns its status.
func reapStatus(pid int) unix.WaitStatus {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err != unix.EINTR {
			return ws
		}
	}
}
