package namespace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// ErrGone is matched by the error of OpenRef for a namespace that has ended.
var ErrGone = errors.New("namespace is gone")

// Ref is a stored reference to one namespace: 16 bytes that name it for as
// long as the kernel runs, and reopen it with OpenRef while it lives, from
// any process that may (Linux 6.18: an nsfs file handle, which holds the
// namespace's 64-bit ID, its kind and its inode number). It holds nothing
// open: a Ref keeps no namespace alive, and it can be saved as bytes
// (MarshalBinary) or text (String, MarshalText) and read back. The zero Ref
// names no namespace.
type Ref struct {
	kind Kind
	nsid uint64
	ino  uint32
}

// Ref returns a reference to the handle's namespace of the given kind. Before
// Linux 6.18 the error matches ErrNotSupported.
func (h *Handle) Ref(kind Kind) (Ref, error) {
	if err := h.valid(); err != nil {
		return Ref{}, err
	}
	ids, err := h.identities()
	if err != nil {
		return Ref{}, fmt.Errorf("ref %s: %w", kind, err)
	}
	id, ok := ids[kind]
	if !ok {
		return Ref{}, fmt.Errorf("ref %s %s: the handle holds no %s namespace (it holds %s)", h.what(), kind, kind, h.kinds)
	}
	if !haveRefs() || id.NSID == 0 {
		return Ref{}, fmt.Errorf("ref %s %s: %w", h.what(), kind, errNoRefs)
	}
	return Ref{kind: kind, nsid: id.NSID, ino: uint32(id.Ino)}, nil
}

// errNoRefs is the error of a kernel without nsfs file handles.
var errNoRefs = &procfs.NotSupportedError{Feature: "namespace file handles", Version: "6.18"}

// noRefsTestHook, set only by tests, makes Ref and OpenRef behave as on a
// kernel before 6.18.
var noRefsTestHook bool

func haveRefs() bool { return !noRefsTestHook && procfs.HaveNSID() }

// OpenRef reopens the namespace that ref names, in a Handle that pins it (as
// FromPath does, with no process behind it). A namespace that has ended gives
// an error matching ErrGone (and unix.ESTALE); a caller without the rights to
// open it, one matching os.ErrPermission; a kernel before Linux 6.18, one
// matching ErrNotSupported.
func OpenRef(ref Ref) (*Handle, error) {
	desc := "ref " + ref.String()
	if ref.kind == 0 {
		return nil, fmt.Errorf("open %s: the zero Ref names no namespace: %w", desc, os.ErrInvalid)
	}
	if !haveRefs() {
		return nil, fmt.Errorf("open %s: %w", desc, errNoRefs)
	}
	fh := struct {
		bytes uint32
		typ   int32
		f     [16]byte
	}{bytes: 16, typ: fileIDNsfs}
	copy(fh.f[:], ref.bytes())
	r, _, e := unix.Syscall(unix.SYS_OPEN_BY_HANDLE_AT, uintptr(fdNsfsRoot), uintptr(unsafe.Pointer(&fh)),
		unix.O_RDONLY|unix.O_CLOEXEC)
	if e != 0 {
		err := error(os.NewSyscallError("open_by_handle_at", e))
		if e == unix.ESTALE {
			err = &gone{err}
		}
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	fd := int(r)
	id, err := procfs.StatFD(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	h := &Handle{desc: desc, kinds: ref.kind, ids: map[Kind]ID{ref.kind: id}}
	h.fds.set(ref.kind, fd)
	return h, nil
}

// fileIDNsfs is the kernel's handle type of nsfs (FILEID_NSFS).
const fileIDNsfs = 0xf1

// fdNsfsRoot is the directory descriptor that open_by_handle_at takes for
// nsfs handles (FD_NSFS_ROOT), which has no mount to name.
var fdNsfsRoot = unix.FD_NSFS_ROOT

// gone is the error of a namespace that has ended: it matches ErrGone and
// what the kernel said.
type gone struct{ err error }

func (e *gone) Error() string   { return e.err.Error() + " (the namespace is gone)" }
func (e *gone) Unwrap() []error { return []error{e.err, ErrGone} }

// Kind returns the kind of the namespace that r names; 0 for the zero Ref.
func (r Ref) Kind() Kind { return r.kind }

// ID returns the identity of the namespace that r names, as procfs and
// Handle.IDs give it, so that a Ref can be compared with them and with
// procfs.List's namespaces.
func (r Ref) ID() ID {
	if r.kind == 0 {
		return ID{}
	}
	dev, _ := procfs.NsfsDevice()
	return ID{Dev: dev, Ino: uint64(r.ino), NSID: r.nsid}
}

// bytes returns the 16 bytes of the kernel's struct nsfs_file_handle: the
// namespace ID, the kind and the inode number, in the machine's byte order.
func (r Ref) bytes() []byte {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint64(b[0:], r.nsid)
	binary.NativeEndian.PutUint32(b[8:], uint32(r.kind))
	binary.NativeEndian.PutUint32(b[12:], r.ino)
	return b
}

// MarshalBinary returns the 16 bytes of the kernel's nsfs file handle for
// the namespace, which UnmarshalBinary reads back; they are in the machine's
// byte order, as the kernel takes them.
func (r Ref) MarshalBinary() ([]byte, error) { return r.bytes(), nil }

// UnmarshalBinary sets r from the 16 bytes that MarshalBinary returned.
func (r *Ref) UnmarshalBinary(b []byte) error {
	if len(b) != 16 {
		return fmt.Errorf("namespace ref: %d bytes, want 16", len(b))
	}
	ref := Ref{
		nsid: binary.NativeEndian.Uint64(b[0:]),
		kind: Kind(binary.NativeEndian.Uint32(b[8:])),
		ino:  binary.NativeEndian.Uint32(b[12:]),
	}
	if err := ref.check(); err != nil {
		return err
	}
	*r = ref
	return nil
}

func (r Ref) check() error {
	if r.kind&(r.kind-1) != 0 || !r.kind.Valid() {
		return fmt.Errorf("namespace ref: kind %s is not one namespace kind", r.kind)
	}
	if r.nsid == 0 {
		return errors.New("namespace ref: no namespace ID")
	}
	return nil
}

// String returns the reference as text, "KIND:[INODE]:ID", such as
// "net:[4026532177]:4105": the namespace's link text as /proc shows it,
// then its namespace ID. The zero Ref is "none".
func (r Ref) String() string {
	if r.kind == 0 {
		return "none"
	}
	return fmt.Sprintf("%s:[%d]:%d", r.kind, r.ino, r.nsid)
}

// MarshalText returns r.String().
func (r Ref) MarshalText() ([]byte, error) {
	if r.kind == 0 {
		return nil, errors.New("namespace ref: the zero Ref names no namespace")
	}
	return []byte(r.String()), nil
}

// UnmarshalText sets r from the text that MarshalText or String returned.
func (r *Ref) UnmarshalText(text []byte) error {
	s := string(text)
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return fmt.Errorf("parse namespace ref %q: want KIND:[INODE]:ID", s)
	}
	kind, ino, err := procfs.ParseLink(s[:i])
	if err != nil {
		return fmt.Errorf("parse namespace ref %q: %w", s, err)
	}
	digits := s[i+1:]
	nsid, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || digits[0] == '+' || ino > 1<<32-1 {
		return fmt.Errorf("parse namespace ref %q: want KIND:[INODE]:ID", s)
	}
	ref := Ref{kind: kind, nsid: nsid, ino: uint32(ino)}
	if err := ref.check(); err != nil {
		return fmt.Errorf("parse namespace ref %q: %w", s, err)
	}
	*r = ref
	return nil
}
