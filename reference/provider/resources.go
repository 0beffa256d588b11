package provider

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Resource indicators (RFC 8707). With an issuer, the provider protects three resources: the
// scenario's routes belong to the default resource, Issuer+"/resource", and two more resource
// servers, /rs/one and /rs/two, are the resources Issuer+"/rs/one" and Issuer+"/rs/two" (the
// suite's F-RES R1 and R2). A token request may name R1, R2 or both with resource (the
// parameter may repeat, RFC 8707 §2); the token's aud is then exactly those, and it is a JWT.
// Without resource, aud is the default resource. A relative URI, one with a fragment, or one the
// provider does not serve is refused with 400 invalid_target (§2), and never reaches aud.

// Paths of the two resource servers that exist only for resource indicators.
const (
	PathResourceOne = "/rs/one"
	PathResourceTwo = "/rs/two"
)

// DefaultResource is the resource identifier of the scenario's routes, the audience of a token
// requested without resource.
func DefaultResource(issuer string) string { return issuer + "/resource" }

// ResourceOne and ResourceTwo are the identifiers of the resources served at PathResourceOne and
// PathResourceTwo.
func ResourceOne(issuer string) string { return issuer + PathResourceOne }
func ResourceTwo(issuer string) string { return issuer + PathResourceTwo }

// errInvalidTarget is RFC 8707 §2's error code, as go-oauth2 codes are: an error whose text is
// the code.
var errInvalidTarget = errors.New("invalid_target")

// requestedResources returns the resources a token request names, in order and without
// repeats: nil when it names none, or when the provider has no issuer (resource is then an
// unknown parameter, ignored as RFC 6749 §3.2 says). An empty value counts as omitted (§3.2).
func (p *Provider) requestedResources(form url.Values) ([]string, error) {
	values := form["resource"]
	if len(values) == 0 || p.keys == nil {
		return nil, nil
	}
	var out []string
	for _, v := range values {
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		switch {
		case err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "":
			return nil, newOAuthError(errInvalidTarget, "a resource must be an absolute URI")
		case strings.Contains(v, "#"):
			return nil, newOAuthError(errInvalidTarget, "a resource must not include a fragment")
		case v != p.resourceOne && v != p.resourceTwo:
			return nil, newOAuthError(errInvalidTarget, "the resource "+safeForDescription(v)+" is not served here")
		case !slices.Contains(out, v):
			out = append(out, v)
		}
	}
	return out, nil
}

// validateJWTFeatures checks Issuer, and that the JWT features have one.
func (c *Config) validateJWTFeatures() error {
	if c.Issuer == "" {
		if c.JWTAccessTokens || len(c.SigningKeys) > 0 || slices.ContainsFunc(c.Clients, func(cl Client) bool { return cl.JWTAccessTokens }) {
			return errors.New("provider: JWT access tokens and signing keys need an issuer (Config.Issuer)")
		}
		return nil
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.Opaque != "" ||
		u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || strings.Contains(c.Issuer, "#") {
		// RFC 8414 §2: a URL with no query or fragment. The reference serves its metadata at the
		// root (§3), so the issuer has no path either, not even "/".
		return fmt.Errorf("provider: the issuer %q must be an http or https URL with a host and no path, query or fragment", c.Issuer)
	}
	return nil
}

// setUpJWT prepares the JWT features when the configuration has an issuer.
func (p *Provider) setUpJWT() error {
	if p.cfg.Issuer == "" {
		return nil
	}
	p.issuer = p.cfg.Issuer
	p.defaultResource = DefaultResource(p.issuer)
	p.defaultAudience = []string{p.defaultResource}
	p.resourceOne, p.resourceTwo = ResourceOne(p.issuer), ResourceTwo(p.issuer)
	// A replaced key stays published as long as the longest-lived token it may have signed.
	retention := p.cfg.TokenLifetime
	for _, c := range p.cfg.Clients {
		retention = max(retention, c.TokenLifetime)
	}
	var err error
	p.keys, err = newKeyStore(p.cfg.SigningKeys, retention+jwtLeeway)
	if err != nil {
		return err
	}
	var mdErr error
	if p.metadata, mdErr = p.metadataDocument(); mdErr != nil {
		return mdErr
	}
	return nil
}

// routeJWTFeatures adds the routes that exist only with an issuer.
func (p *Provider) routeJWTFeatures(mux *http.ServeMux) {
	if p.keys == nil {
		return
	}
	mux.HandleFunc("GET "+PathMetadata, p.handleMetadata)
	mux.HandleFunc("GET "+PathJWKS, p.handleJWKS)
	mux.Handle("GET "+PathResourceOne, p.protectResource(p.resourceOne, "", p.handleRead))
	mux.Handle("GET "+PathResourceTwo, p.protectResource(p.resourceTwo, "", p.handleRead))
}
