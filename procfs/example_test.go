package procfs_test

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/nsgo/nsgo/procfs"
)

func ExampleParseKinds() {
	k, err := procfs.ParseKinds("uts,pid|mount")
	if err != nil {
		panic(err)
	}
	fmt.Println(k)
	for one := range k.Each() {
		fmt.Printf("%s is clone flag %#x\n", one, uint64(one))
	}
	_, err = procfs.ParseKinds("uts,bogus")
	fmt.Println(err)
	// Output:
	// mnt|uts|pid
	// mnt is clone flag 0x20000
	// uts is clone flag 0x4000000
	// pid is clone flag 0x20000000
	// parse kinds "uts,bogus": unknown kind "bogus"
}

// Two processes share a namespace exactly when their IDs are equal.
func ExampleNamespaces() {
	mine, err := procfs.Namespaces(os.Getpid())
	if err != nil {
		panic(err)
	}
	net, err := procfs.Stat("/proc/self/ns/net")
	if err != nil {
		panic(err)
	}
	fmt.Println(mine[procfs.Net] == net)
	// Output: true
}

func ExampleParseLink() {
	link, err := os.Readlink("/proc/self/ns/uts")
	if err != nil {
		panic(err)
	}
	kind, ino, err := procfs.ParseLink(link)
	if err != nil {
		panic(err)
	}
	id, _ := procfs.Lookup(os.Getpid(), procfs.UTS)
	fmt.Println(kind, ino == id.Ino)
	// Output: uts true
}

// List every namespace that the caller can see, as util-linux lsns does, or
// narrow the list as lsns -t and -p do.
func ExampleList() {
	all, err := procfs.List() // NS, TYPE, NPROCS, PID, UID, COMMAND, as lsns shows them
	if err != nil {
		panic(err)
	}
	nets, err := procfs.List(procfs.OfKind(procfs.Net), procfs.OfPID(os.Getpid())) // lsns -t net -p PID
	if err != nil {
		panic(err)
	}
	fmt.Println(len(nets), nets[0].Kind, nets[0].Procs > 0)

	// Every namespace the caller is in is in the whole list.
	mine, err := procfs.Namespaces(os.Getpid())
	if err != nil {
		panic(err)
	}
	found := 0
	for _, ns := range all {
		if ns.ID == mine[ns.Kind] {
			found++
		}
	}
	fmt.Println(found == len(mine))
	// Output:
	// 1 net true
	// true
}

// A process in a user namespace of its own, which it created together with a
// network and a UTS namespace: UserTree shows the user namespace, owning the
// other two. The namespaces of other kinds that the process is in are the
// caller's, owned by a user namespace outside the list, so left out.
func ExampleUserTree() {
	cmd := exec.Command("/bin/sleep", "10")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
	}
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()

	list, err := procfs.List(procfs.OfPID(cmd.Process.Pid), procfs.WithHierarchy()) // owner and parent from ioctl_ns
	if err != nil {
		panic(err)
	}
	for _, user := range procfs.UserTree(list) { // user namespaces and what each owns
		var owned procfs.Kind
		for _, ns := range user.Owned {
			owned |= ns.Kind
		}
		fmt.Printf("%s namespace of %q owns %s\n", user.Kind, user.Command, owned)
		fmt.Println("created by the caller:", user.OwnerUID == os.Getuid())
		fmt.Println("child user namespaces:", len(user.Children))
	}
	// Output:
	// user namespace of "/bin/sleep 10" owns uts|net
	// created by the caller: true
	// child user namespaces: 0
}
