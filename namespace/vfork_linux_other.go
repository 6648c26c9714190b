//go:build linux && !amd64

package namespace

// haveVfork says whether this architecture has rawVforkClone: here it has
// not, and Spawn always copies the process.
const haveVfork = false

func rawVforkClone(flags uintptr, ptid *int32) (pid, errno uintptr) {
	panic("no vfork clone on this architecture")
}
