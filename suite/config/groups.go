package config

// The purposes the help of the ccconform command sorts the options into, in its order.
const (
	// GroupTarget is the provider under test and what it offers: where it is, its clients,
	// routes, scopes, fixtures and capabilities.
	GroupTarget = "target"
	// GroupSelection is which checks run and under which rules.
	GroupSelection = "selection"
	// GroupReports is what the run writes.
	GroupReports = "reports"
	// GroupGate is what fails the run.
	GroupGate = "gate"
)

// Groups are the groups in the order of the help.
var Groups = []string{GroupTarget, GroupSelection, GroupReports, GroupGate}

// GroupOf is the group of an option, named by its flag, or by its target description key if it
// has no flag; "" for a name that is no option. A test checks that every option has one.
func GroupOf(name string) string { return groups[name] }

var groups = map[string]string{
	"target-config":                        GroupTarget,
	"provider-url":                         GroupTarget,
	"client-id":                            GroupTarget,
	"client-secret":                        GroupTarget,
	"client-auth-method":                   GroupTarget,
	"token-path":                           GroupTarget,
	"public-path":                          GroupTarget,
	"read-path":                            GroupTarget,
	"write-path":                           GroupTarget,
	"request-timeout":                      GroupTarget,
	"expires-in":                           GroupTarget,
	"ca-file":                              GroupTarget,
	"clients":                              GroupTarget,
	"allowed-scopes":                       GroupTarget,
	"forbidden-scope":                      GroupTarget,
	"resources":                            GroupTarget,
	"max-expiry-wait":                      GroupTarget,
	"cleartext-url":                        GroupTarget,
	"introspection-protected-outside-http": GroupTarget,
	"client-private-key":                   GroupTarget,
	"client.private_key":                   GroupTarget,
	"client-key-id":                        GroupTarget,
	"client-alg":                           GroupTarget,
	"issuer":                               GroupTarget,
	"introspection-path":                   GroupTarget,
	"revocation-path":                      GroupTarget,
	"jwks-uri":                             GroupTarget,
	"capabilities":                         GroupTarget,
	"revocation-window":                    GroupTarget,
	"other-jwt":                            GroupTarget,
	"user-sub":                             GroupTarget,
	"single-valued-parameters":             GroupTarget,
	"resource_indicators":                  GroupTarget,
	"dpop-resource-path":                   GroupTarget,
	"mtls-resource-path":                   GroupTarget,

	"profile": GroupSelection,
	"load":    GroupSelection,

	"summary-md":    GroupReports,
	"summary-html":  GroupReports,
	"results-json":  GroupReports,
	"results-junit": GroupReports,

	"strict":            GroupGate,
	"expected-failures": GroupGate,
}
