package main

import (
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"
)

type cpuMask [16]uint64

func schedAffinity(call uintptr, mask *cpuMask) error {
	// pid 0: the calling thread.
	_, _, errno := syscall.RawSyscall(call, 0, unsafe.Sizeof(*mask), uintptr(unsafe.Pointer(mask)))
	if errno != 0 {
		return errno
	}
	return nil
}

// startPinned starts cmd bound to one CPU: the calling thread is bound to it for the moment of
// the fork, and the child inherits the binding, its threads too, from its first instruction (so
// the Go runtime of a child sizes GOMAXPROCS to that one CPU, as it would under taskset).
func startPinned(cmd *exec.Cmd, cpu int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, one cpuMask
	if err := schedAffinity(syscall.SYS_SCHED_GETAFFINITY, &old); err != nil {
		return err
	}
	one[cpu/64] |= 1 << (cpu % 64)
	if err := schedAffinity(syscall.SYS_SCHED_SETAFFINITY, &one); err != nil {
		return err
	}
	err := cmd.Start()
	if rerr := schedAffinity(syscall.SYS_SCHED_SETAFFINITY, &old); err == nil {
		err = rerr
	}
	return err
}
