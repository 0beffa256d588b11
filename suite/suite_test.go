package suite_test

import (
	"testing"

	// The ginkgo command passes its flags on to a package whose tests import Ginkgo.
	_ "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite"
	"github.com/ccconform/ccconform/suite/bundled"
)

// The suite's own entry point: the specs of package suite, with the reference provider as the
// bundled provider (package bundled, which the ccconform command injects too). suite.Run is
// Setup and RunSpecs, as the command's suite.Execute is, and honours NO_COLOR.
func TestConformance(t *testing.T) {
	suite.SetBundled(bundled.Reference())
	suite.Run(t, "OAuth 2.0 client credentials conformance")
}
