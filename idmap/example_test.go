package idmap_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/nsgo/nsgo/idmap"
)

func ExampleMap_Validate() {
	m := idmap.Map{
		{Inside: 0, Outside: 100000, Count: 65536},
		{Inside: 1000, Outside: 1000, Count: 1}, // 1000 is mapped already
	}
	fmt.Println(m.Validate())
	// Output: idmap: range 1 "1000 1000 1": inside IDs overlap range 0 "0 100000 65536"
}

func ExampleParse() {
	m, err := idmap.Parse("         0     100000      65536\n")
	if err != nil {
		panic(err)
	}
	host, _ := m.Contains(1000)
	fmt.Printf("%d ranges; uid 1000 inside is %d outside\n", len(m), host)
	fmt.Print(m)
	// Output:
	// 1 ranges; uid 1000 inside is 101000 outside
	// 0 100000 65536
}

func ExampleReadUIDMap() {
	m, err := idmap.ReadUIDMap(os.Getpid())
	if err != nil {
		panic(err)
	}
	// In the initial user namespace every ID maps to itself.
	fmt.Println(len(m) > 0)
	// Output: true
}

// Write the maps of a process in a new user namespace that has none yet: one
// that os/exec started here, or any other. Mapping the caller's own IDs needs
// no privilege; Auto denies setgroups first where the kernel demands it.
func ExampleWrite() {
	cmd := exec.Command("/bin/sleep", "10")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid

	uid := idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}}
	gid := idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}}
	if err := idmap.Write(pid, uid, gid, idmap.Auto); err != nil {
		panic(err)
	}
	m, err := idmap.ReadUIDMap(pid)
	if err != nil {
		panic(err)
	}
	outside, ok := m.Contains(0)
	fmt.Println(ok, outside == uint32(os.Getuid())) // root inside is the caller outside

	// The kernel takes a map once.
	err = idmap.Write(pid, uid, nil, idmap.Auto)
	fmt.Println(errors.Is(err, os.ErrPermission))
	// Output:
	// true true
	// true
}
