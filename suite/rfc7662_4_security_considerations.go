package suite

import (
	"net/http"
	"net/url"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 7662 §4: the security considerations of introspection that a provider shows on the wire.
var _ = Describe("RFC 7662 §4: introspection's security considerations", func() {
	labels := func(ids ...string) Labels {
		return append(specLabels("introspection", ids...), "cap:introspection")
	}

	// §4 (MUST): introspection goes over TLS: the endpoint's URL is an https URL. A plain
	// http:// target is not judged.
	It("names an https:// introspection endpoint", labels("C-7662-4-a"), func() {
		needCap(config.CapIntrospection)
		expectHTTPSEndpoint("C-7662-4-a", target.IntrospectionPath, "introspection")
	})

	// §4 (MAY): a server may refuse GET, so that tokens stay out of logs. Recorded with a
	// made-up token in the query (never a real one) and the introspector's HTTP Basic
	// credentials (never a secret in a URL).
	It("records whether introspection takes a GET with the token in the query", labels("C-7662-4-b"), func(ctx SpecContext) {
		introspector := needIntrospector()
		if introspector.AuthMethod != "" && introspector.AuthMethod != config.AuthClientSecretBasic {
			row("C-7662-4-b").Cannot("the introspecting client authenticates with %s, whose credentials a GET would put in the URL; the suite does not send them there", introspector.AuthMethod)
			return
		}
		res := send(ctx, request{Path: target.IntrospectionPath, Note: "introspect with GET", Query: url.Values{"token": {rsBogusToken()}},
			Authorization: introspector.basic()})
		if _, isBool := objectOf(res).members["active"].(bool); res.StatusCode == http.StatusOK && isBool {
			row("C-7662-4-b").Inform("introspection takes GET with the token in the query (%s), where tokens end up in logs", res.Status)
			return
		}
		row("C-7662-4-b").Inform("introspection refuses GET with the token in the query: %s", res.Status)
	}, SpecTimeout(target.specTimeout(1)))

	// §4 (SHOULD): callers should be specifically authorised to introspect. An ordinary client
	// (the second client; or the default client, when it is not the introspector) asking about
	// another client's token gets a refusal, or active: false and nothing else (§2.2 answers a
	// caller not allowed to introspect a token so).
	It("refuses an ordinary client's introspection of another client's token, or answers it with active: false alone",
		labels("C-7662-4-c"), func(ctx SpecContext) {
			introspector := needIntrospector()
			caller, owner := target.Clients.Second, target.Client
			if caller == nil {
				if target.Client.ID == introspector.ID {
					judge.Skip("this spec needs an ordinary client besides the introspector: declare clients.second in the target description")
				}
				caller, owner = &target.Client, introspector
			}
			tok := issueToken(ctx, owner, "")
			res := introspect(ctx, *caller, "an ordinary client introspects another client's token", tokenForm(tok.AccessToken, ""))
			if res.StatusCode >= 400 {
				row("C-7662-4-c").That(true, "")
				return
			}
			obj, err := decodeObject(bodyOf(res))
			if !row("C-7662-4-c").That(err == nil && res.StatusCode == http.StatusOK, "an ordinary client's introspection got %s: %s", res.Status, quoteBody(bodyOf(res))) {
				return
			}
			row("C-7662-4-c").That(obj.members["active"] == false && len(obj.members) == 1,
				"an ordinary client (%s) was told about another client's token: %s", redactor.mask(caller.ID), quoteBody(bodyOf(res)))
		}, SpecTimeout(target.specTimeout(2)))
})
