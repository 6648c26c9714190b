package main

import (
	"golang.org/x/sys/unix"
)

// fdStash holds descriptors out of the process's descriptor table, in
// flight in a socket, while the library clones the sandbox's child: a child
// gets a copy of every descriptor the process has then, close-on-exec or
// not, until it executes the command. bwrap's child closes --info-fd and
// --json-status-fd at once, so that whoever reads them sees end-of-file as
// soon as bwrap has written and closed its own; the library's child does
// not know these, so they are kept where no copy of the table reaches:
// sent with SCM_RIGHTS before the clone, received back after it.
type fdStash struct {
	fds  []int
	sock [2]int
}

// stashFDs moves fds into a new stash; /dev/null holds their numbers
// meanwhile.
func stashFDs(fds []int) (*fdStash, error) {
	s := &fdStash{fds: fds}
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	s.sock = sp
	if err := unix.Sendmsg(sp[0], []byte{0}, unix.UnixRights(fds...), nil, 0); err != nil {
		unix.Close(sp[0])
		unix.Close(sp[1])
		return nil, err
	}
	// The numbers stay taken, by /dev/null, so that nothing the library
	// opens meanwhile gets them.
	null, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		s.restore()
		return nil, err
	}
	defer unix.Close(null)
	for _, fd := range fds {
		unix.Dup3(null, fd, unix.O_CLOEXEC)
	}
	return s, nil
}

// restore puts the descriptors back at their numbers, close-on-exec, and
// closes the stash. It may be called more than once.
func (s *fdStash) restore() error {
	if s == nil || s.sock[0] < 0 {
		return nil
	}
	defer func() {
		unix.Close(s.sock[0])
		unix.Close(s.sock[1])
		s.sock = [2]int{-1, -1}
	}()
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4*len(s.fds)))
	_, oobn, _, _, err := unix.Recvmsg(s.sock[1], buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return unix.EBADMSG
	}
	got, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return err
	}
	for i, fd := range got {
		if i < len(s.fds) {
			if err := unix.Dup3(fd, s.fds[i], unix.O_CLOEXEC); err != nil {
				return err
			}
			unix.Close(fd)
		}
	}
	return nil
}
