// Package proof proves that the suite detects what it claims to: it runs the compiled suite
// against the reference provider with one fault injected at a time, and against hostile
// providers, and checks what the suite reports.
//
// A fault is a small http.Handler middleware around the reference provider that breaks one rule
// (drops a header, changes a status, renames a JSON member, lets a bad credential through,
// forgets a write). The reference itself has no test switches: every fault lives here.
package proof

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite/judge"
)

var (
	suiteBinaryOnce sync.Once
	suiteBinaryPath string
	suiteBinaryErr  error
	workDir         string
)

// TestMain runs twice as many tests at once as there are cores, unless -test.parallel says
// otherwise: each fault and control is a suite process of its own, and many tests spend much of
// their time waiting (for a deadline, a Retry-After, node), so two at a time on two cores left a
// core idle for minutes of every run.
func TestMain(m *testing.M) {
	flag.Parse()
	parallelGiven := false
	flag.Visit(func(f *flag.Flag) { parallelGiven = parallelGiven || f.Name == "test.parallel" })
	if !parallelGiven {
		_ = flag.Set("test.parallel", strconv.Itoa(2*runtime.GOMAXPROCS(0)))
	}
	var err error
	if workDir, err = os.MkdirTemp("", "ccconform-proof-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	printDetectionTable()
	os.RemoveAll(workDir)
	os.Exit(code)
}

// suiteBinary compiles the suite once per test run.
func suiteBinary(t *testing.T) string {
	t.Helper()
	suiteBinaryOnce.Do(func() {
		suiteBinaryPath = filepath.Join(workDir, "suite.test")
		cmd := exec.Command("go", "test", "-c", "-o", suiteBinaryPath, ".")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			suiteBinaryErr = fmt.Errorf("compiling the suite: %v\n%s", err, out)
		}
	})
	if suiteBinaryErr != nil {
		t.Fatal(suiteBinaryErr)
	}
	return suiteBinaryPath
}

// startReference starts a fresh reference provider with its fixture clients, over TLS as in
// bundled mode, behind wrap (nil: no fault). It returns the suite flags that point at it: its
// URL, its certificate authority, and reference/target.yaml for the fixtures.
func startReference(t *testing.T, wrap func(http.Handler) http.Handler) []string {
	t.Helper()
	return serveTLS(t, referenceHandler(t, wrap))
}

// referenceHandler is a fresh reference provider with its fixture clients, behind wrap. Its
// issuer is the URL the first request reached it at (the suite's first request is to the URL
// the flags give), so that its metadata, JWT access tokens and resource indicators are on
// however the proof serves it.
func referenceHandler(t *testing.T, wrap func(http.Handler) http.Handler) http.Handler {
	t.Helper()
	return referenceHandlerWith(t, nil, wrap)
}

// referenceHandlerWith is referenceHandler with configure (nil: none) applied to the
// reference's configuration first: a control's allowed variation that the reference has as an
// option (DPoP nonces, say).
func referenceHandlerWith(t *testing.T, configure func(*provider.Config), wrap func(http.Handler) http.Handler) http.Handler {
	t.Helper()
	var once sync.Once
	var h http.Handler
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() {
			scheme := "https"
			if r.TLS == nil {
				scheme = "http"
			}
			cfg := provider.FixtureConfig(provider.DemoClientID, provider.DemoClientSecret)
			cfg.Issuer = scheme + "://" + r.Host
			cfg.SigningKeys = []*rsa.PrivateKey{proofSigningKey(t)}
			if configure != nil {
				configure(&cfg)
			}
			p, err := provider.New(cfg)
			if err != nil {
				t.Error(err)
				h = http.NotFoundHandler()
				return
			}
			h = p.Handler()
			if wrap != nil {
				h = wrap(h)
			}
		})
		h.ServeHTTP(w, r)
	})
}

// proofSigningKey is the RS256 key of every reference the proof starts: one key generated per
// test process, since a 2048-bit RSA key takes a noticeable share of a short run to make.
var proofSigningKey = func() func(*testing.T) *rsa.PrivateKey {
	var once sync.Once
	var key *rsa.PrivateKey
	var err error
	return func(t *testing.T) *rsa.PrivateKey {
		once.Do(func() { key, err = provider.GenerateSigningKey() })
		if err != nil {
			t.Error(err) // called from a handler: no Fatal outside the test's goroutine
		}
		return key
	}
}()

// serveTLS serves h over TLS on a loopback port and returns the suite flags that point at it.
func serveTLS(t *testing.T, h http.Handler) []string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = quietLog // the TLS checks send cleartext to this port on purpose
	srv.TLS = askForClientCertificates()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return targetFlags(t, srv.URL, srv.Certificate())
}

// serveTLSAndCleartext serves h over TLS and, on the same port, over plain HTTP too (it looks
// at the first byte of each connection: a TLS handshake starts with 0x16). The https URL is the
// target; the http:// URL of the same host and port is what a TLS-only check probes, and here
// it answers: a provider that wrongly takes credentials or tokens in cleartext.
func serveTLSAndCleartext(t *testing.T, h http.Handler) []string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = askForClientCertificates()
	srv.StartTLS() // sets up srv.TLS and the certificate; the listener is replaced below
	tlsConfig := srv.TLS
	srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cleartext, tlsConns := newChanListener(l.Addr()), newChanListener(l.Addr())
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				cleartext.close()
				tlsConns.close()
				return
			}
			go func() {
				br := bufio.NewReader(c)
				first, err := br.Peek(1)
				if err != nil {
					c.Close()
					return
				}
				pc := &peekedConn{Conn: c, r: br}
				if first[0] == 0x16 {
					tlsConns.conns <- pc
				} else {
					cleartext.conns <- pc
				}
			}()
		}
	}()
	plain := &http.Server{Handler: h, ErrorLog: quietLog}
	secure := &http.Server{Handler: h, TLSConfig: tlsConfig, ErrorLog: quietLog}
	go plain.Serve(cleartext)
	go secure.Serve(tls.NewListener(tlsConns, tlsConfig))
	t.Cleanup(func() { l.Close(); plain.Close(); secure.Close() })
	cert, err := x509.ParseCertificate(tlsConfig.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return targetFlags(t, "https://"+l.Addr().String(), cert)
}

var quietLog = log.New(io.Discard, "", 0)

// askForClientCertificates is the TLS configuration of every provider the proof serves: it asks
// for a client certificate and takes connections without one, as the bundled reference does,
// so that mutual TLS (RFC 8705) works and everything else is as before.
func askForClientCertificates() *tls.Config { return &tls.Config{ClientAuth: tls.RequestClientCert} }

// targetFlags are the suite flags for a TLS provider at url whose certificate is cert.
func targetFlags(t *testing.T, url string, cert *x509.Certificate) []string {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"-provider-url=" + url, "-issuer=" + url, "-ca-file=" + ca, "-target-config=" + referenceTargetAt(t, url)}
}

// referenceTargetAt is a copy of reference/target.yaml for the reference served at url: its
// URLs (the issuer, the resource indicators R1 and R2, which the reference derives from its
// issuer) name url instead of the hand-started command's http://localhost:8080, and its key
// and certificate files are named by absolute paths, since the copy lives elsewhere.
func referenceTargetAt(t *testing.T, url string) string {
	t.Helper()
	ref := referenceTarget(t)
	data, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "${REFERENCE_URL:-http://localhost:8080}", url)
	text = strings.ReplaceAll(text, "private_key_file: ", "private_key_file: "+filepath.Dir(ref)+string(filepath.Separator))
	text = strings.ReplaceAll(text, "certificate_file: ", "certificate_file: "+filepath.Dir(ref)+string(filepath.Separator))
	description := filepath.Join(t.TempDir(), "target.yaml")
	if err := os.WriteFile(description, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return description
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// chanListener is a net.Listener fed with connections through a channel.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) close()         { l.once.Do(func() { close(l.done) }) }
func (l *chanListener) Close() error   { l.close(); return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }

// referenceTarget is the absolute path of reference/target.yaml.
func referenceTarget(t *testing.T) string {
	path, err := filepath.Abs(filepath.Join("..", "..", "reference", "target.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// suiteRun is the outcome of one run of the suite.
type suiteRun struct {
	exitCode int
	output   string
	duration time.Duration
	specs    []types.SpecReport
	// table is the run's per-requirement results file (--results-json), when it was written.
	table *judge.Table
}

// runSuite runs the compiled suite with args (flags of the suite, and -ginkgo.* flags) and reads
// its JSON report.
func runSuite(t *testing.T, timeout time.Duration, args ...string) suiteRun {
	t.Helper()
	bin := suiteBinary(t)
	report := filepath.Join(t.TempDir(), "report.json")
	results := filepath.Join(t.TempDir(), "results.json")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	all := append([]string{"-ginkgo.no-color", "-ginkgo.json-report=" + report, "-results-json=" + results}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Dir = t.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	run := suiteRun{output: out.String(), duration: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("the suite did not finish within %s\n%s", timeout, run.output)
	}
	if exitErr, ok := err.(*exec.ExitError); ok {
		run.exitCode = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("running the suite: %v", err)
	}
	if data, err := os.ReadFile(results); err == nil {
		run.table = &judge.Table{}
		if err := json.Unmarshal(data, run.table); err != nil {
			t.Fatalf("reading the results file: %v", err)
		}
	}
	if data, err := os.ReadFile(report); err == nil {
		var reports []types.Report
		if err := json.Unmarshal(data, &reports); err != nil {
			t.Fatalf("reading the JSON report: %v", err)
		}
		for _, r := range reports {
			run.specs = append(run.specs, r.SpecReports...)
		}
	}
	return run
}

// failed returns the specs (and suite nodes) that failed.
func (r suiteRun) failed() []types.SpecReport {
	var out []types.SpecReport
	for _, s := range r.specs {
		if s.State.Is(types.SpecStateFailureStates) {
			out = append(out, s)
		}
	}
	return out
}

// rows returns the rows of the results table with one of the outcomes.
func (r suiteRun) rows(outcomes ...judge.Outcome) []judge.RowResult {
	if r.table == nil {
		return nil
	}
	var out []judge.RowResult
	for _, row := range r.table.Rows {
		if slices.Contains(outcomes, row.Outcome) {
			out = append(out, row)
		}
	}
	return out
}

// outcome is a row's outcome in the results table ("" when the table lacks the row).
func (r suiteRun) outcome(id string) judge.Outcome {
	if r.table != nil {
		for _, row := range r.table.Rows {
			if row.ID == id {
				return row.Outcome
			}
		}
	}
	return ""
}

// describeRows lists rows with their first message, for a test's failure output.
func describeRows(rows []judge.RowResult) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %s %s: %s\n", r.ID, r.Outcome, firstLine(r.Message+strings.Join(r.Reasons, "; ")))
	}
	return b.String()
}

// skipped returns the specs the suite skipped, with their reasons (specs a label filter left
// out are not skipped by the suite and carry no reason).
func (r suiteRun) skipped() []types.SpecReport {
	var out []types.SpecReport
	for _, s := range r.specs {
		if s.LeafNodeType == types.NodeTypeIt && s.State == types.SpecStateSkipped && s.Failure.Message != "" {
			out = append(out, s)
		}
	}
	return out
}

func (r suiteRun) count(state types.SpecState) int {
	n := 0
	for _, s := range r.specs {
		if s.LeafNodeType == types.NodeTypeIt && s.State == state {
			n++
		}
	}
	return n
}

func hasLabel(s types.SpecReport, label string) bool {
	for _, l := range s.Labels() {
		if l == label {
			return true
		}
	}
	return false
}

// detection is one row of the table printed at the end of the run.
type detection struct {
	fault, rule, outcome, caughtBy string
}

var (
	detectionsMu sync.Mutex
	detections   []detection
)

func recordDetection(d detection) {
	detectionsMu.Lock()
	defer detectionsMu.Unlock()
	detections = append(detections, d)
}

func printDetectionTable() {
	if len(detections) == 0 {
		return
	}
	fmt.Println("\nfault                                                        rule             caught     by")
	for _, d := range detections {
		fmt.Printf("%-60s %-16s %-10s %s\n", clip(d.fault, 60), d.rule, d.outcome, d.caughtBy)
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
