package namespace_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

func skipWithoutRefs(t *testing.T) {
	t.Helper()
	if !procfs.HaveNSID() {
		t.Skip("the kernel has no namespace file handles (Linux 6.18)")
	}
}

// holder spawns a process in new namespaces of kinds (with a user namespace
// for an unprivileged caller) that lives until the returned function is
// called, which reaps it.
func holder(t *testing.T, kinds namespace.Kind) (*namespace.Process, func()) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	opts := namespace.Options{Path: "/bin/cat", Stdin: r, Stdout: io.Discard, New: kinds}
	if !privileged {
		opts.New |= namespace.User
		opts.UIDMap, opts.GIDMap = ownMaps()
	}
	p, err := namespace.Spawn(opts)
	r.Close()
	if err != nil {
		w.Close()
		t.Fatal(err)
	}
	return p, func() { w.Close(); p.Wait() }
}

// TestRef saves a reference as bytes and text, reopens the namespace from
// each while it lives, and finds ErrGone once it ended.
func TestRef(t *testing.T) {
	skipWithoutRefs(t)
	if privileged {
		// Do keeps a descriptor on the process's UTS namespace from its
		// first entry into another: have it before the counts.
		warm, err := namespace.Unshare(namespace.UTS)
		if err != nil {
			t.Fatal(err)
		}
		warm.Do(func() error { return nil })
		warm.Close()
	}
	for _, kind := range []namespace.Kind{namespace.UTS, namespace.Net} {
		t.Run(kind.String(), func(t *testing.T) {
			start := takeCounts(t)
			p, stop := holder(t, kind)
			h, err := namespace.Join(p.Pid, kind)
			if err != nil {
				stop()
				t.Fatal(err)
			}
			ref, err := h.Ref(kind)
			h.Close()
			if err != nil {
				stop()
				t.Fatal(err)
			}
			text, _ := ref.MarshalText()
			bin, _ := ref.MarshalBinary()
			if len(bin) != 16 || string(text) != ref.String() || !strings.HasPrefix(ref.String(), kind.String()+":[") {
				t.Errorf("ref %q, bytes %x", text, bin)
			}
			var fromText, fromBytes namespace.Ref
			if err := fromText.UnmarshalText(text); err != nil || fromText != ref {
				t.Errorf("UnmarshalText(%q) = %v, %v", text, fromText, err)
			}
			if err := fromBytes.UnmarshalBinary(bin); err != nil || fromBytes != ref {
				t.Errorf("UnmarshalBinary(%x) = %v, %v", bin, fromBytes, err)
			}
			want, _ := p.Namespaces()
			if ref.Kind() != kind || ref.ID() != want[kind] {
				t.Errorf("ref %v: kind %s, ID %v; want %v", ref, ref.Kind(), ref.ID(), want[kind])
			}
			if kind == namespace.UTS && privileged {
				// Do enters the reopened namespace (and opens what it
				// keeps, before the counts).
				again, err := namespace.OpenRef(ref)
				if err != nil {
					t.Fatal(err)
				}
				var inside procfs.ID
				again.Do(func() (err error) { inside, err = procfs.Stat("/proc/thread-self/ns/uts"); return err })
				again.Close()
				if inside != want[kind] {
					t.Errorf("Do in the reopened namespace: in %v, want %v", inside, want[kind])
				}
			}
			before := takeCounts(t)
			for _, r := range []namespace.Ref{ref, fromText, fromBytes} {
				again, err := namespace.OpenRef(r)
				if err != nil {
					t.Fatal(err)
				}
				if again.Kinds() != kind || again.IDs()[kind] != want[kind] {
					t.Errorf("OpenRef: %s %v, want %v", again.Kinds(), again.IDs(), want[kind])
				}
				again.Close()
			}
			checkNoLeak(t, before)
			stop()
			// The kernel frees some kinds later (net in a work queue).
			deadline := time.Now().Add(10 * time.Second)
			for {
				again, err := namespace.OpenRef(ref)
				if err == nil {
					again.Close()
					if time.Now().Before(deadline) {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					t.Fatal("the namespace lives on 10 s after its last process")
				}
				if !errors.Is(err, namespace.ErrGone) || !errors.Is(err, unix.ESTALE) || !strings.Contains(err.Error(), ref.String()) {
					t.Fatalf("OpenRef(gone) = %v, want ErrGone and ESTALE", err)
				}
				break
			}
			checkNoLeak(t, start)
		})
	}
}

// TestRefErrors: a kind the handle lacks, the zero Ref, bad text and bytes,
// and a kernel without namespace file handles, forced.
func TestRefErrors(t *testing.T) {
	skipWithoutRefs(t)
	h, err := namespace.Current(namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	before := takeCounts(t)
	if _, err := h.Ref(namespace.Net); err == nil || !strings.Contains(err.Error(), "holds no net namespace") {
		t.Errorf("Ref(Net) of a UTS handle = %v", err)
	}
	if _, err := (*namespace.Handle)(nil).Ref(namespace.UTS); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("nil Handle: %v", err)
	}
	if _, err := namespace.OpenRef(namespace.Ref{}); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("OpenRef(zero) = %v, want ErrInvalid", err)
	}
	for _, s := range []string{"", "uts", "uts:[1]", "uts:[1]:", "uts:[1]:0", "uts:[1]:x", "uts:[1]:+1", "mount:[1]:5",
		"pipe:[1]:5", "uts:[4294967296]:5", "uts:[1]:18446744073709551616"} {
		var r namespace.Ref
		if err := r.UnmarshalText([]byte(s)); err == nil {
			t.Errorf("UnmarshalText(%q) = %v, want an error", s, r)
		}
	}
	ref, err := h.Ref(namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	bin, _ := ref.MarshalBinary()
	for _, b := range [][]byte{nil, bin[:15], append(bytes.Clone(bin), 0), make([]byte, 16)} {
		var r namespace.Ref
		if err := r.UnmarshalBinary(b); err == nil {
			t.Errorf("UnmarshalBinary(%x) = %v, want an error", b, r)
		}
	}
	// A forged ID that no namespace has had yet.
	var forged namespace.Ref
	if err := forged.UnmarshalText([]byte("uts:[4026531838]:18446744073709551000")); err != nil {
		t.Fatal(err)
	}
	if _, err := namespace.OpenRef(forged); !errors.Is(err, namespace.ErrGone) {
		t.Errorf("OpenRef(forged) = %v, want ErrGone", err)
	}
	old := namespace.SetNoRefs(true)
	_, errRef := h.Ref(namespace.UTS)
	_, errOpen := namespace.OpenRef(ref)
	namespace.SetNoRefs(old)
	for _, err := range []error{errRef, errOpen} {
		if !errors.Is(err, namespace.ErrNotSupported) || !strings.Contains(err.Error(), "Linux 6.18") {
			t.Errorf("without file handles: %v, want ErrNotSupported naming Linux 6.18", err)
		}
	}
	checkNoLeak(t, before)
}

func FuzzRefText(f *testing.F) {
	for _, s := range []string{"net:[4026532177]:4105", "uts:[1]:1", "time:[4026531834]:2", "net:[1]:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var r namespace.Ref
		if r.UnmarshalText([]byte(s)) != nil {
			return
		}
		var again namespace.Ref
		if err := again.UnmarshalText([]byte(r.String())); err != nil || again != r {
			t.Fatalf("%q -> %q -> %v %v", s, r.String(), again, err)
		}
		b, _ := r.MarshalBinary()
		if err := again.UnmarshalBinary(b); err != nil || again != r {
			t.Fatalf("%q -> %x -> %v %v", s, b, again, err)
		}
	})
}
