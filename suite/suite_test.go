package suite_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite"
	"github.com/ccconform/ccconform/suite/bundled"
)

// The suite's own entry point: the specs of package suite, with the reference provider as the
// bundled provider (package bundled, which the ccconform command injects too). The ginkgo
// command looks for a test file that imports Ginkgo to pass its flags on, so RunSpecs is called
// here rather than through suite.Run.
func TestConformance(t *testing.T) {
	suite.SetBundled(bundled.Reference())
	suite.Setup()
	RunSpecs(t, "OAuth 2.0 client credentials conformance")
}
