package main

import (
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// pinToCPU binds every thread of this process to one CPU. Threads the runtime starts later
// inherit the binding from the thread that starts them.
func pinToCPU(cpu int) error {
	var mask [16]uint64
	mask[cpu/64] |= 1 << (cpu % 64)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
		if errno != 0 && errno != syscall.ESRCH { // ESRCH: the thread exited meanwhile
			return errno
		}
	}
	return nil
}
