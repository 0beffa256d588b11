package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// IsTimeout says whether err is a deadline that passed: no response, or no complete body,
// within the timeout.
func IsTimeout(err error) bool {
	var netErr net.Error
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()))
}

// Describe says in one sentence why an exchange got no complete response; timeout is the
// deadline it was sent with (Exchange.Timeout). The sentence is escaped (see Escape).
func Describe(err error, timeout time.Duration) string {
	return Escape(describe(err, timeout))
}

func describe(err error, timeout time.Duration) string {
	within := "within the timeout"
	if timeout > 0 {
		within = "within " + timeout.String()
	}
	var (
		body             *bodyError
		dnsErr           *net.DNSError
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verify           *tls.CertificateVerificationError
		record           tls.RecordHeaderError
	)
	closed := errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
	switch {
	case err == nil:
		return "there was a response"
	case errors.Is(err, ErrSilent):
		return ErrSilent.Error()
	case errors.As(err, &body) && IsTimeout(err):
		return "the status and headers arrived, but the body did not arrive " + within
	case errors.As(err, &body) && closed:
		return "the status and headers arrived, but the connection was closed before the whole body arrived"
	case IsTimeout(err):
		return "no response " + within
	case errors.Is(err, context.Canceled):
		return "the request was cancelled before a response arrived"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused: nothing listens there"
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("the host %q was not found", dnsErr.Name)
	case errors.As(err, &unknownAuthority), errors.As(err, &verify) && errors.As(verify.Err, &unknownAuthority):
		return "its TLS certificate is not signed by an authority this machine trusts"
	case errors.As(err, &hostname):
		return "its TLS certificate is not valid for this host name: " + hostname.Error()
	case errors.As(err, &invalid):
		return "its TLS certificate is not valid: " + invalid.Error()
	case errors.As(err, &verify):
		return "its TLS certificate could not be verified: " + verify.Err.Error()
	case errors.As(err, &record) && string(record.RecordHeader[:]) == "HTTP/",
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "it speaks plain HTTP, not HTTPS"
	case closed:
		return "the connection was closed before a complete response arrived"
	default:
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			return urlErr.Err.Error()
		}
		return err.Error()
	}
}
