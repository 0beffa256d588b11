package provider

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// Sender-constrained access tokens: a token bound to a DPoP key (RFC 9449 §6) or to a client
// certificate (RFC 8705 §3) carries the binding in its cnf claim, and the resource server
// grants nothing unless the request proves possession of what the token is bound to.

// binding is what an access token is bound to; the zero value is an unbound (Bearer) token.
type binding struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the DPoP proof key, base64url (RFC 9449 §6.1).
	JKT string
	// X5TS256 is the base64url SHA-256 of the client certificate's DER (RFC 8705 §3.1).
	X5TS256 string
}

// bound reports whether the token is sender-constrained at all.
func (b binding) bound() bool { return b.JKT != "" || b.X5TS256 != "" }

// cnf is the confirmation claim (RFC 7800) of a bound token, nil for an unbound one.
func (b binding) cnf() map[string]string {
	if !b.bound() {
		return nil
	}
	m := map[string]string{}
	if b.JKT != "" {
		m["jkt"] = b.JKT
	}
	if b.X5TS256 != "" {
		m["x5t#S256"] = b.X5TS256
	}
	return m
}

type bindingKey struct{}

// withBinding records in ctx what the token being issued is bound to.
func withBinding(ctx context.Context, b binding) context.Context {
	return context.WithValue(ctx, bindingKey{}, b)
}

// bindingFrom is the binding withBinding recorded, the zero binding if none.
func bindingFrom(ctx context.Context) binding {
	b, _ := ctx.Value(bindingKey{}).(binding)
	return b
}

// certThumbprint is the x5t#S256 of the TLS client certificate r arrived with, "" when it
// came without one.
func certThumbprint(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
