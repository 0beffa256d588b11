package suite

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// The RFC 8705 §3.1 thumbprint diagnosis's own test (rfc8705_3_certificate_bound_tokens.go), on
// a certificate made here: it judges no provider.
func TestThumbprintMistake(t *testing.T) {
	cert, err := strangerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	der := cert.Certificate[0]
	s256, s1 := sha256.Sum256(der), sha1.Sum(der)
	want := certThumbprint(cert)
	if len(want) != 43 || want != base64.RawURLEncoding.EncodeToString(s256[:]) {
		t.Fatalf("certThumbprint is %q, not the 43-character base64url SHA-256", want)
	}
	// Without + or /, standard base64 is base64url with padding, which is what it is named.
	std := base64.StdEncoding.EncodeToString(s256[:])
	stdName := "standard base64"
	if !strings.ContainsAny(std, "+/") {
		stdName = "padding"
	}
	for _, c := range []struct{ got, names string }{
		{hex.EncodeToString(s256[:]), "hex-encoded"},
		{strings.ToUpper(hex.EncodeToString(s256[:])), "hex-encoded"},
		{base64.URLEncoding.EncodeToString(s256[:]), "padding"},
		{std, stdName},
		{base64.RawURLEncoding.EncodeToString(s1[:]), "SHA-1"},
		{hex.EncodeToString(s1[:]), "SHA-1"},
		{"something-else", "14 characters"},
	} {
		if got := thumbprintMistake(c.got, cert); !strings.Contains(got, c.names) {
			t.Errorf("thumbprintMistake(%q) = %q, which does not name %q", c.got, got, c.names)
		}
	}
}
