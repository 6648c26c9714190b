package idmap_test

import (
	"fmt"
	"os"

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
