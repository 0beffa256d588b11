//go:build !unix

package provider

// descriptorLimit is unknown on this system.
func descriptorLimit() (uint64, bool) { return 0, false }
