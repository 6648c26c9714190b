package namespace_test

import (
	"errors"
	"fmt"

	"github.com/nsgo/nsgo/namespace"
)

// A reference is saved as text (or bytes) and reopens the namespace later,
// from any process, for as long as the namespace lives (Linux 6.18).
func ExampleHandle_Ref() {
	h, err := namespace.Current(namespace.Net)
	if err != nil {
		fmt.Println(err)
		return
	}
	ref, err := h.Ref(namespace.Net)
	h.Close()
	if errors.Is(err, namespace.ErrNotSupported) {
		fmt.Println("no namespace file handles before Linux 6.18")
		return
	}
	text, _ := ref.MarshalText() // "net:[4026531833]:3", say: store it
	var saved namespace.Ref
	if err := saved.UnmarshalText(text); err != nil {
		fmt.Println(err)
		return
	}
	again, err := namespace.OpenRef(saved)
	if errors.Is(err, namespace.ErrGone) {
		fmt.Println("the namespace has ended")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer again.Close()
	fmt.Println(again.Kinds(), again.IDs()[namespace.Net] == ref.ID())
	// Output: net true
}
