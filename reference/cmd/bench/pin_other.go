//go:build !linux

package main

import (
	"errors"
	"os/exec"
)

func startPinned(*exec.Cmd, int) error {
	return errors.New("CPU pinning is implemented on Linux only")
}
