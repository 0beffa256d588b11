package provider

import (
	"net/http"
	"net/url"
	"testing"
)

// Benchmarks of the routes that come with an issuer: the token endpoint issuing a JWT (an RS256
// signature), a resource server checking one (a verification), and the two public documents.

func BenchmarkTokenEndpointJWT(b *testing.B) {
	p, h := jwtProvider(b, nil)
	extra := "&scope=read&resource=" + url.QueryEscape(p.resourceOne)
	b.ReportAllocs()
	for b.Loop() {
		if rec := jatTokenRequest(h, extra); rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkResourceOneJWT(b *testing.B) {
	p, h := jwtProvider(b, nil)
	tok := jatIssue(b, h, "&resource="+url.QueryEscape(p.resourceOne))
	b.ReportAllocs()
	for b.Loop() {
		if rec := jatGet(h, PathResourceOne, tok); rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkReadResourceWithIssuer is BenchmarkReadResource's opaque token on a provider with an
// issuer, where the scenario's routes check the audience too.
func BenchmarkReadResourceWithIssuer(b *testing.B) {
	_, h := jwtProvider(b, nil)
	tok := jatIssue(b, h, "")
	b.ReportAllocs()
	for b.Loop() {
		if rec := jatGet(h, PathReadResource, tok); rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkMetadataAndJWKS(b *testing.B) {
	_, h := jwtProvider(b, nil)
	for _, path := range []string{PathMetadata, PathJWKS} {
		b.Run(path, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rec := jatGet(h, path, ""); rec.Code != http.StatusOK {
					b.Fatalf("%d", rec.Code)
				}
			}
		})
	}
}
