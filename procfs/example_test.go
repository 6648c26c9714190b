package procfs_test

import (
	"fmt"
	"os"

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
