package namespace_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// TestBindMakesDir binds a namespace where the directory is missing, as `ip
// netns add` does with /run/netns: Bind makes it, mode 0755. A Bind that
// fails after making directories removes them, and unmounts the directory it
// bound on itself. As root this runs in Do on a new mount namespace, where
// the mounts end with it; unprivileged, the mount is refused.
func TestBindMakesDir(t *testing.T) {
	tmp := t.TempDir()
	if !privileged {
		self, err := namespace.Current(namespace.Net)
		if err != nil {
			t.Fatal(err)
		}
		defer self.Close()
		path := filepath.Join(tmp, "run", "netns", "test")
		err = self.Bind(namespace.Net, path)
		if !errors.Is(err, os.ErrPermission) {
			t.Errorf("unprivileged Bind = %v, want EPERM", err)
		}
		if _, err := os.Lstat(filepath.Join(tmp, "run")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the failed Bind left %s/run behind: %v", tmp, err)
		}
		return
	}
	mnt, err := namespace.Unshare(namespace.Mount)
	if err != nil {
		t.Fatal(err)
	}
	defer mnt.Close()
	net := unshareNet(t)
	hostMounts, _ := os.ReadFile("/proc/self/mountinfo")
	err = mnt.Do(func() error {
		umask := unix.Umask(0) // Do's thread has a file system state of its own
		unix.Umask(umask)
		dir := filepath.Join(tmp, "run", "netns")
		path := filepath.Join(dir, "test")
		if err := net.Bind(namespace.Net, path); err != nil {
			return err
		}
		for _, d := range []string{filepath.Dir(dir), dir} {
			st, err := os.Stat(d)
			if err != nil {
				return err
			}
			if want := fs.ModeDir | 0o755&^fs.FileMode(umask); st.Mode() != want {
				t.Errorf("%s: mode %v, want %v", d, st.Mode(), want)
			}
		}
		if got, err := procfs.Stat(path); err != nil || got != net.IDs()[namespace.Net] {
			t.Errorf("%s names %v (%v), want the handle's %v", path, got, err, net.IDs()[namespace.Net])
		}
		if err := namespace.Unbind(path); err != nil {
			return err
		}

		// A mount namespace cannot be bound inside itself (EINVAL): the
		// failure comes last, after the directories and the mount that
		// Bind made, and must take them away.
		failed := filepath.Join(tmp, "fail", "deeper")
		err := mnt.Bind(namespace.Mount, filepath.Join(failed, "ns"))
		if !errors.Is(err, unix.EINVAL) {
			t.Errorf("Bind of a mount namespace inside itself = %v, want EINVAL", err)
		}
		if _, err := os.Lstat(filepath.Join(tmp, "fail")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the failed Bind left %s/fail behind: %v", tmp, err)
		}
		mounts, err := os.ReadFile("/proc/thread-self/mountinfo")
		if err != nil {
			return err
		}
		if strings.Contains(string(mounts), filepath.Join(tmp, "fail")) {
			t.Errorf("the failed Bind left a mount behind:\n%s", mounts)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile("/proc/self/mountinfo"); string(after) != string(hostMounts) {
		t.Errorf("the caller's mounts changed:\n%s\nnow:\n%s", hostMounts, after)
	}
}
