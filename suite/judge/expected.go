package judge

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ccconform/ccconform/suite/registry"
)

// LoadExpected reads an --expected-failures file: a YAML (or JSON) list of {id, reason}, the
// rows the target is known to break. Each must be a row of the registry, listed once, with a
// reason.
func LoadExpected(path string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read --expected-failures: %v", err)
	}
	var entries []struct {
		ID     string `yaml:"id"`
		Reason string `yaml:"reason"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&entries); err != nil && len(bytes.TrimSpace(data)) > 0 {
		return nil, fmt.Errorf("--expected-failures %s is not a list of {id, reason}", path)
	}
	for _, e := range entries {
		switch {
		case func() bool { _, ok := registry.Lookup(e.ID); return !ok }():
			return nil, fmt.Errorf("--expected-failures %s lists %q, which is no requirement of the suite", path, e.ID)
		case strings.TrimSpace(e.Reason) == "":
			return nil, fmt.Errorf("--expected-failures %s lists %s without a reason", path, e.ID)
		case out[e.ID] != "":
			return nil, fmt.Errorf("--expected-failures %s lists %s twice", path, e.ID)
		}
		out[e.ID] = e.Reason
	}
	return out, nil
}
