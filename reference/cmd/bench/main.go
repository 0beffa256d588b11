// Command bench measures the reference provider as users run it against a bare net/http server,
// with a load generator shown to saturate the server, and checks that issuing many tokens does
// not grow the provider's memory.
//
//	go run ./reference/cmd/bench [-provider BIN] [-c 64] [-d 3s] [-rounds 5]   load: rates and ratios
//	go run ./reference/cmd/bench -memory [-tokens 1000000]                      memory: RSS before/after
//
// Load. The servers are two child processes: the provider binary users run (-provider, built from
// reference/cmd/provider when not given), started as shipped with its demo client and its access
// log on, to a file; and a bare net/http server (this binary with -bare), provider.NewHTTPServer
// around a handler that drains the body and answers a constant small JSON body. Both are bound to
// the last CPU; the load generator, wrk (https://github.com/wg/wrk, the Debian package), runs on
// the first, one thread and -c keep-alive connections. The requests are POST /token (HTTP Basic,
// grant_type=client_credentials, scope=read) and GET /read-resource with a valid Bearer token
// (fetched once first); the bare server gets the same requests.
//
// Saturation. A ratio of rates says something about the servers only when the load generator
// keeps the server's core busy: otherwise both rates measure the load generator, and the ratio
// drifts towards 1. Each measurement reads the server process's CPU time (utime+stime in
// /proc/<pid>/stat) before and after, and is valid only when the server's core was at least
// -min-busy (95 %) busy and every response was a 2xx. A round measures, for each endpoint, the
// bare server, the provider and the bare server again, back to back, after waiting (within
// -quiet-wait) for the CPUs to be idle; a round with an invalid measurement is measured again,
// up to -attempts rounds in all. The ratio of a round is the provider's rate over the mean of the
// two bare rates around it, and the summary is the median over valid rounds: on a shared, noisy
// machine only these ratios mean something.
//
// The command exits 1 when a goal is missed (POST /token at least 0.5 of the bare server's rate,
// GET /read-resource at least 0.8, resident memory at most 100 MB) or when too few rounds were
// valid to tell.
//
// Memory. -memory issues -tokens access tokens (one-hour lifetime, the default) through the
// provider's HTTP handler in this process (httptest requests and recorders, no network), then
// reports VmRSS (/proc/self/status) and runtime.MemStats.HeapInuse after runtime.GC, before and
// after, and checks that the first token issued is still accepted by GET /read-resource and that
// tampered copies of it are refused.
package main

import (
	"bufio"
	"context"
	b64 "encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ccconform/ccconform/reference/provider"
)

// Goals the report is read against.
const (
	goalTokenRatio = 0.50 // POST /token at least half the bare server's rate
	goalReadRatio  = 0.80 // GET /read-resource at least 80% of it
	goalMemoryMB   = 100  // resident memory after issuing the tokens
)

func main() {
	var (
		providerBin = flag.String("provider", "", "the provider binary to measure (default: go build ./reference/cmd/provider)")
		wrkBin      = flag.String("wrk", "wrk", "the wrk binary")
		conns       = flag.Int("c", 64, "keep-alive connections of the load generator")
		dur         = flag.Duration("d", 2*time.Second, "duration of one measurement")
		warmup      = flag.Duration("warmup", time.Second, "warm-up per server and endpoint before the rounds")
		rounds      = flag.Int("rounds", 5, "valid rounds to collect; each measures the bare server, the provider and the bare server again, for each endpoint")
		attempts    = flag.Int("attempts", 0, "rounds to try at most, valid or not (default 4 × -rounds)")
		minBusy     = flag.Float64("min-busy", 0.95, "the least share of its core a server must use for a measurement to be valid")
		quietWait   = flag.Duration("quiet-wait", 10*time.Minute, "how long in all to wait for the CPUs to be idle before rounds (other processes' load invalidates measurements)")
		only        = flag.String("only", "", "measure only this endpoint: token or read")
		memory      = flag.Bool("memory", false, "run the memory check instead of the load benchmark")
		tokens      = flag.Int("tokens", 1_000_000, "tokens to issue in the memory check")
		bare        = flag.Bool("bare", false, "internal: run the bare server (a child process of a load run)")
	)
	flag.Parse()
	var err error
	switch {
	case *bare:
		err = runBare()
	case *memory:
		err = runMemory(*tokens)
	default:
		if *attempts <= 0 {
			*attempts = 4 * *rounds
		}
		err = runLoad(loadConfig{providerBin: *providerBin, wrk: *wrkBin, conns: *conns, dur: *dur, warmup: *warmup,
			rounds: *rounds, attempts: *attempts, minBusy: *minBusy, only: *only, quietWait: *quietWait})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// ---------------------------------------------------------------------------------------------
// The bare server (child process)

// bareBody is the bare server's constant answer.
var bareBody = []byte(`{"resource":null}` + "\n")

func bareHandler(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(bareBody)
}

// runBare serves the bare handler on a free loopback port, prints the port's URL, and stops when
// stdin closes.
func runBare() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := provider.NewHTTPServer(http.HandlerFunc(bareHandler))
	go srv.Serve(l)
	fmt.Printf("[Bare]: listening on http://%s\n", l.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return srv.Close()
}

// ---------------------------------------------------------------------------------------------
// Load (parent process)

type loadConfig struct {
	providerBin, wrk, only string
	conns, rounds          int
	attempts               int
	dur, warmup, quietWait time.Duration
	minBusy                float64
}

// server is a child process under measurement.
type server struct {
	name string
	url  string
	cmd  *exec.Cmd
	stop func() error
}

// measurement is one wrk run against one server.
type measurement struct {
	requests       int
	elapsed        time.Duration
	statusErrors   int
	socketErrors   int
	p50, p99       time.Duration
	serverCPU      time.Duration // CPU time the server process used during the run
	loadCPU        time.Duration // CPU time wrk used
	serverBusy     float64       // serverCPU over elapsed: the share of its one core
	loadBusy       float64
	invalidBecause string
}

func (m measurement) rate() float64 { return float64(m.requests) / m.elapsed.Seconds() }

// cpuPerRequest is the server's CPU time per request, in microseconds.
func (m measurement) cpuPerRequest() float64 {
	if m.requests == 0 {
		return 0
	}
	return float64(m.serverCPU.Microseconds()) / float64(m.requests)
}

func runLoad(cfg loadConfig) error {
	if runtime.NumCPU() < 2 {
		return errors.New("the load benchmark needs at least 2 CPUs: one for the servers, one for the load generator")
	}
	if _, err := exec.LookPath(cfg.wrk); err != nil {
		return fmt.Errorf("wrk is not installed (Debian: apt-get install wrk): %v", err)
	}
	serverCPU, loadCPU := runtime.NumCPU()-1, 0
	dir, err := os.MkdirTemp("", "ccconform-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if cfg.providerBin == "" {
		cfg.providerBin = filepath.Join(dir, "provider")
		build := exec.Command("go", "build", "-o", cfg.providerBin, "./reference/cmd/provider")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build ./reference/cmd/provider (run from the module root, or pass -provider): %v", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	accessLog := filepath.Join(dir, "access.log")
	ref, err := startServer("provider", serverCPU, dir, cfg.providerBin,
		"--addr", "127.0.0.1:0", "--env-file", filepath.Join(dir, "no.env"), "--access-log", accessLog)
	if err != nil {
		return err
	}
	defer ref.stop()
	bare, err := startServer("bare", serverCPU, dir, self, "-bare")
	if err != nil {
		return err
	}
	defer bare.stop()

	basic := url.QueryEscape(provider.DemoClientID) + ":" + url.QueryEscape(provider.DemoClientSecret)
	access, err := fetchToken(ref.url, basic)
	if err != nil {
		return err
	}
	scripts := map[string]string{
		"token": writeScript(dir, "token.lua", http.MethodPost, "Basic "+b64.StdEncoding.EncodeToString([]byte(basic)), "grant_type=client_credentials&scope=read"),
		"read":  writeScript(dir, "read.lua", http.MethodGet, "Bearer "+access, ""),
	}
	type endpoint struct {
		key, label, path string
		goal             float64
	}
	var endpoints []endpoint
	for _, e := range []endpoint{{"token", "POST /token", provider.PathToken, goalTokenRatio}, {"read", "GET /read-resource", provider.PathReadResource, goalReadRatio}} {
		if cfg.only == "" || cfg.only == e.key {
			endpoints = append(endpoints, e)
		}
	}
	if len(endpoints) == 0 {
		return fmt.Errorf("-only must be token or read, not %q", cfg.only)
	}

	fmt.Printf("load: wrk, 1 thread, %d keep-alive connections, %v per measurement, %d valid rounds wanted (at most %d tried), warm-up %v\n",
		cfg.conns, cfg.dur, cfg.rounds, cfg.attempts, cfg.warmup)
	fmt.Printf("cpu:  %d CPUs; both servers bound to CPU %d, wrk to CPU %d; a measurement is valid when the server's core is >= %.0f%% busy\n",
		runtime.NumCPU(), serverCPU, loadCPU, 100*cfg.minBusy)
	fmt.Printf("provider: %s --addr 127.0.0.1:0 --access-log FILE (pid %d, %s)\n", cfg.providerBin, ref.cmd.Process.Pid, ref.url)
	fmt.Printf("bare:     net/http, provider.NewHTTPServer, constant answer (pid %d, %s)\n\n", bare.cmd.Process.Pid, bare.url)

	total := 1 // the token fetched above
	run := func(s *server, e endpoint, d time.Duration) measurement {
		m := measure(cfg, loadCPU, s, s.url+e.path, scripts[e.key], d)
		if s == ref {
			total += m.requests
		}
		return m
	}
	for _, e := range endpoints {
		run(bare, e, cfg.warmup)
		run(ref, e, cfg.warmup)
	}
	fmt.Printf("%-20s %5s %-8s %9s %9s %9s %7s %9s %10s %9s %7s  %s\n",
		"endpoint", "round", "server", "req/s", "p50", "p99", "non-2xx", "srv core", "srv µs/req", "wrk core", "ratio", "")
	ratios := make([][]float64, len(endpoints))
	for attempt := 1; attempt <= cfg.attempts; attempt++ {
		done := true
		for i := range endpoints {
			done = done && len(ratios[i]) >= cfg.rounds
		}
		if done {
			break
		}
		for i, e := range endpoints {
			if len(ratios[i]) >= cfg.rounds {
				continue
			}
			waitForQuiet(&cfg.quietWait)
			// Bare, provider, bare again: the provider's rate over the mean of the bare rates
			// around it, so that a drift of the machine's speed during the round cancels out.
			b1 := run(bare, e, cfg.dur)
			r := run(ref, e, cfg.dur)
			b2 := run(bare, e, cfg.dur)
			ratio := r.rate() / ((b1.rate() + b2.rate()) / 2)
			verdict := "valid"
			switch {
			case b1.invalidBecause != "":
				verdict = "INVALID: bare (before) " + b1.invalidBecause
			case r.invalidBecause != "":
				verdict = "INVALID: provider " + r.invalidBecause
			case b2.invalidBecause != "":
				verdict = "INVALID: bare (after) " + b2.invalidBecause
			default:
				ratios[i] = append(ratios[i], ratio)
			}
			for _, x := range []struct {
				name, ratio, verdict string
				m                    measurement
			}{{"bare", "", "", b1}, {"provider", "", "", r}, {"bare", fmt.Sprintf("%.3f", ratio), verdict, b2}} {
				fmt.Printf("%-20s %5d %-8s %9.0f %9s %9s %7d %8.1f%% %10.1f %8.1f%% %7s  %s\n", e.label, attempt, x.name, x.m.rate(),
					fmtDur(x.m.p50), fmtDur(x.m.p99), x.m.statusErrors, 100*x.m.serverBusy, x.m.cpuPerRequest(), 100*x.m.loadBusy, x.ratio, x.verdict)
			}
		}
	}

	rss, hwm := procStatus(ref.cmd.Process.Pid, "VmRSS:"), procStatus(ref.cmd.Process.Pid, "VmHWM:")
	if err := ref.stop(); err != nil {
		return fmt.Errorf("the provider did not stop cleanly: %v", err)
	}
	lines, err := countLines(accessLog)
	if err != nil {
		return err
	}

	fmt.Println()
	fmt.Println("summary (ratio = the provider's rate over the mean of the bare server's measured just before and after it; median over valid rounds)")
	var missed []string
	for i, e := range endpoints {
		verdict := "MET"
		switch {
		case len(ratios[i]) < (cfg.rounds+1)/2:
			verdict = "NOT MEASURED: too few valid rounds"
			missed = append(missed, e.label+": too few valid rounds")
		case median(ratios[i]) < e.goal:
			verdict = "MISSED"
			missed = append(missed, fmt.Sprintf("%s: ratio %.3f < %.2f", e.label, median(ratios[i]), e.goal))
		}
		fmt.Printf("  %-20s ratio %.3f (valid rounds: %s)  goal >= %.2f: %s\n", e.label, median(ratios[i]), fmts(ratios[i]), e.goal, verdict)
	}
	memVerdict := "MET"
	if rss > goalMemoryMB*1e6 {
		memVerdict = "MISSED"
		missed = append(missed, fmt.Sprintf("provider VmRSS %.1f MB > %d MB", float64(rss)/1e6, goalMemoryMB))
	}
	fmt.Printf("  provider after %d requests: VmRSS %.1f MB (peak %.1f MB), goal <= %d MB: %s\n", total, float64(rss)/1e6, float64(hwm)/1e6, goalMemoryMB, memVerdict)
	logVerdict := "nothing lost"
	if lines < total {
		logVerdict = "LINES LOST"
		missed = append(missed, fmt.Sprintf("access log: %d lines for %d requests", lines, total))
	}
	fmt.Printf("  access log after shutdown: %d lines for %d requests counted by wrk (in-flight ones at each run's end are extra): %s\n", lines, total, logVerdict)
	if len(missed) > 0 {
		return errors.New("goal missed: " + strings.Join(missed, "; "))
	}
	return nil
}

// startServer starts a server process bound to cpu and waits for the URL it prints.
func startServer(name string, cpu int, dir, bin string, args ...string) (*server, error) {
	cmd := exec.Command(bin, args...)
	// The provider runs as shipped: the demo client, no settings from the caller's environment.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "CLIENT_ID" && k != "CLIENT_SECRET" && k != "TOKEN_KEY" && k != "PORT" && k != "GOMAXPROCS" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := os.Create(filepath.Join(dir, name+".stderr"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := startPinned(cmd, cpu); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	_, u, found := strings.Cut(strings.TrimSpace(line), "listening on ")
	if err != nil || !found {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		errText, _ := os.ReadFile(stderr.Name())
		return nil, fmt.Errorf("%s did not start (%q, %v): %s", name, line, err, errText)
	}
	go io.Copy(io.Discard, stdout)
	s := &server{name: name, url: u, cmd: cmd}
	stopped := false
	var stopErr error
	s.stop = func() error {
		if stopped {
			return stopErr
		}
		stopped = true
		stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		stopErr = cmd.Wait()
		stderr.Close()
		return stopErr
	}
	return s, nil
}

// measure runs wrk against target for d and reads the server's CPU time around it.
func measure(cfg loadConfig, cpu int, s *server, target, script string, d time.Duration) measurement {
	cmd := exec.Command(cfg.wrk, "-t1", "-c"+strconv.Itoa(cfg.conns), "-d"+strconv.Itoa(max(int(d.Seconds()), 1))+"s",
		"--timeout", "5s", "-s", script, target)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	pid := s.cmd.Process.Pid
	cpu0, t0 := processCPU(pid), time.Now()
	err := startPinned(cmd, cpu)
	if err == nil {
		err = cmd.Wait()
	}
	elapsed, cpu1 := time.Since(t0), processCPU(pid)
	m := measurement{serverCPU: cpu1 - cpu0, elapsed: elapsed}
	if err != nil {
		m.invalidBecause = fmt.Sprintf("wrk failed: %v: %s", err, out.String())
		return m
	}
	m.loadCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	m.serverBusy, m.loadBusy = m.serverCPU.Seconds()/elapsed.Seconds(), m.loadCPU.Seconds()/elapsed.Seconds()
	var durUS, p50, p99 int64
	i := strings.Index(out.String(), "RESULT ")
	if i < 0 {
		m.invalidBecause = "wrk printed no result: " + out.String()
		return m
	}
	if _, err := fmt.Sscanf(out.String()[i:], "RESULT requests=%d duration_us=%d status_errors=%d socket_errors=%d p50_us=%d p99_us=%d",
		&m.requests, &durUS, &m.statusErrors, &m.socketErrors, &p50, &p99); err != nil {
		m.invalidBecause = "cannot read wrk's result: " + err.Error()
		return m
	}
	// wrk's own duration of the load, without its start-up, is the one its count belongs to;
	// the server's CPU is over the whole process run, a little longer, so its share is if
	// anything understated.
	m.elapsed = time.Duration(durUS) * time.Microsecond
	m.p50, m.p99 = time.Duration(p50)*time.Microsecond, time.Duration(p99)*time.Microsecond
	switch {
	case m.statusErrors > 0 || m.socketErrors > 0:
		m.invalidBecause = fmt.Sprintf("%d non-2xx answers, %d socket errors", m.statusErrors, m.socketErrors)
	case m.serverBusy < cfg.minBusy:
		m.invalidBecause = fmt.Sprintf("the server's core was %.1f%% busy: not saturated", 100*m.serverBusy)
	}
	return m
}

// waitForQuiet waits, out of the budget left, until the machine's CPUs were at least 95 % idle
// over half a second: another process's load would take the server's core from it and
// invalidate the measurement anyway.
func waitForQuiet(budget *time.Duration) {
	said := false
	for *budget > 0 {
		t0 := time.Now()
		busy0, total0 := cpuTimes()
		time.Sleep(500 * time.Millisecond)
		busy1, total1 := cpuTimes()
		*budget -= time.Since(t0)
		if total1 <= total0 || float64(busy1-busy0)/float64(total1-total0) <= 0.05 {
			return
		}
		if !said {
			fmt.Printf("(waiting for the CPUs to be idle: %.0f%% busy)\n", 100*float64(busy1-busy0)/float64(total1-total0))
			said = true
		}
	}
}

// cpuTimes sums the busy and total jiffies of all CPUs, from /proc/stat.
func cpuTimes() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest time is counted in user time already
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// writeScript writes the wrk script of one request and returns its path. done() prints one line
// the parent reads.
func writeScript(dir, name, method, authorization, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "wrk.method = %q\n", method)
	fmt.Fprintf(&b, "wrk.headers[\"Authorization\"] = %q\n", authorization)
	if body != "" {
		fmt.Fprintf(&b, "wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\nwrk.body = %q\n", body)
	}
	b.WriteString(`done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d status_errors=%d socket_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		panic(err)
	}
	return path
}

// fetchToken gets the access token the read benchmark sends.
func fetchToken(baseURL, basic string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+provider.PathToken, strings.NewReader("grant_type=client_credentials&scope=read"))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Basic "+b64.StdEncoding.EncodeToString([]byte(basic)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); res.StatusCode != http.StatusOK || err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("no token from the provider: %s %v", res.Status, err)
	}
	return tok.AccessToken, nil
}

// processCPU is the user plus system CPU time of a process, from /proc/<pid>/stat (Linux; zero
// elsewhere).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces; count from after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const clockTicks = 100 // USER_HZ, 100 on every Linux configuration in practice
	return time.Duration(ut+st) * time.Second / clockTicks
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, buf := 0, make([]byte, 64<<10)
	for {
		k, err := f.Read(buf)
		n += strings.Count(string(buf[:k]), "\n")
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmts(xs []float64) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, fmt.Sprintf("%.3f", x))
	}
	return strings.Join(parts, " ")
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}
