package proof

import (
	"path/filepath"
	"testing"
)

// The suite against a provider it did not write: the documented scenario's own stack,
// @node-oauth/express-oauth-server in its default configuration (testdata/express-provider).
// With the expected-failures file that names each rule it breaks, the run passes; without any
// one entry, it fails. It needs Node.js and npm; without them the test is skipped, unless
// CCCONFORM_REQUIRE_NODE is set (CI sets it), when it fails.
func TestExpressProvider(t *testing.T) {
	t.Parallel() // it mostly waits for node and npm (TestMain)
	list, err := filepath.Abs(filepath.Join("testdata", "express-provider", "expected-failures.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	baseline{
		list: list,
		start: func(t *testing.T) []string {
			url := startNodeProvider(t, "express-provider")
			return []string{"-provider-url=" + url, "-expires-in=3600", "-ginkgo.label-filter=!slow"}
		},
		kept: "S2S-1",
	}.check(t)
}
