// Command bench measures the reference provider on loopback against a bare net/http server, and
// checks that issuing many tokens does not grow the provider's memory.
//
//	go run ./reference/cmd/bench [-c 32] [-d 3s] [-rounds 3]   load: rates, latency, ratios
//	go run ./reference/cmd/bench -memory [-tokens 1000000]       memory: RSS and heap before/after
//
// Load. One run starts, in a child process (the same binary, -serve), the reference provider
// (provider.New(provider.DefaultConfig(DemoClientID, DemoClientSecret)) served by
// provider.NewHTTPServer) and a bare net/http server, also served by provider.NewHTTPServer,
// whose handler drains the body and answers a constant small JSON body. The parent drives each
// with its own load loop: C workers, each with one keep-alive HTTP/1.1 connection, sending a
// pre-built request and reading the response, for a fixed duration. The requests are
// POST /token (Basic auth, grant_type=client_credentials, scope=read) and GET /read-resource
// (a valid Bearer token, obtained once first); the bare server gets byte-identical requests.
// Every round runs the bare server right before each target, and the ratio is the target's rate
// over that bare rate: on a shared, noisy machine only these ratios mean something.
//
// CPU split. The machine this was written for has 2 cores. The server process runs with
// GOMAXPROCS=-server-procs (1) and the load generator with GOMAXPROCS=-client-procs (1); with
// -pin (the default, Linux, at least 2 CPUs) every thread of the server is bound to the last CPU
// and every thread of the load generator to the first, so neither steals the other's core.
// Besides the rates, the command reports the server process's CPU time per request (from
// /proc/<pid>/stat), which does not depend on how fast the load generator is: the "CPU ratio"
// is bare CPU per request over target CPU per request, the rate ratio a server-bound run would
// show.
//
// Memory. -memory issues -tokens access tokens (one-hour lifetime, the default) through the
// provider's HTTP handler in this process (httptest requests and recorders, no network), then
// reports VmRSS (/proc/self/status) and runtime.MemStats.HeapInuse after runtime.GC, before and
// after, and checks that the first token issued is still accepted by GET /read-resource and that
// tampered copies of it are refused.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
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
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
		conc        = flag.Int("c", 32, "concurrent workers (one keep-alive connection each) per target")
		dur         = flag.Duration("d", 3*time.Second, "duration of one measurement")
		warmup      = flag.Duration("warmup", 1*time.Second, "warm-up per target before the rounds")
		rounds      = flag.Int("rounds", 3, "rounds; each measures bare, then target, for each endpoint")
		serverProcs = flag.Int("server-procs", 1, "GOMAXPROCS of the server process")
		clientProcs = flag.Int("client-procs", 1, "GOMAXPROCS of the load generator")
		pin         = flag.Bool("pin", true, "bind the server to the last CPU and the load generator to the first (Linux)")
		cpuProfile  = flag.String("cpuprofile", "", "write a CPU profile of the server process (both servers) to this file")
		only        = flag.String("only", "", "measure only this endpoint: token or read")
		memory      = flag.Bool("memory", false, "run the memory check instead of the load benchmark")
		tokens      = flag.Int("tokens", 1_000_000, "tokens to issue in the memory check")
		serve       = flag.Bool("serve", false, "internal: run the servers (the child process of a load run)")
	)
	flag.Parse()
	var err error
	switch {
	case *serve:
		err = runServers(*serverProcs, *pin, *cpuProfile)
	case *memory:
		err = runMemory(*tokens)
	default:
		err = runLoad(loadConfig{conc: *conc, dur: *dur, warmup: *warmup, rounds: *rounds,
			serverProcs: *serverProcs, clientProcs: *clientProcs, pin: *pin, cpuProfile: *cpuProfile, only: *only})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// ---------------------------------------------------------------------------------------------
// Servers (child process)

// bareBody is the bare server's constant answer.
var bareBody = []byte(`{"resource":null}` + "\n")

func bareHandler(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(bareBody)
}

func runServers(procs int, pin bool, cpuProfile string) error {
	runtime.GOMAXPROCS(procs)
	if pin {
		if n := runtime.NumCPU(); n >= 2 {
			if err := pinToCPU(n - 1); err != nil {
				fmt.Fprintln(os.Stderr, "bench: server not pinned:", err)
			}
		}
	}
	p, err := provider.New(provider.DefaultConfig(provider.DemoClientID, provider.DemoClientSecret))
	if err != nil {
		return err
	}
	refL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bareL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ref, bare := provider.NewHTTPServer(p.Handler()), provider.NewHTTPServer(http.HandlerFunc(bareHandler))
	go ref.Serve(refL)
	go bare.Serve(bareL)
	fmt.Printf("ref=%s bare=%s\n", refL.Addr(), bareL.Addr())
	// The parent closes stdin when it is done.
	_, _ = io.Copy(io.Discard, os.Stdin)
	ref.Close()
	bare.Close()
	return nil
}

// ---------------------------------------------------------------------------------------------
// Load (parent process)

type loadConfig struct {
	conc, rounds             int
	dur, warmup              time.Duration
	serverProcs, clientProcs int
	pin                      bool
	cpuProfile, only         string
}

type target struct {
	name string
	addr string
	req  []byte
}

type result struct {
	n, errs   int
	elapsed   time.Duration
	p50, p99  time.Duration
	serverCPU time.Duration // CPU time of the server process during the measurement
	clientCPU time.Duration // CPU time of this process during the measurement
}

func (r result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// cpuPerReq is the server's CPU time per request, in microseconds.
func (r result) cpuPerReq() float64 {
	if r.n == 0 {
		return 0
	}
	return float64(r.serverCPU.Microseconds()) / float64(r.n)
}

func runLoad(cfg loadConfig) error {
	runtime.GOMAXPROCS(cfg.clientProcs)
	pinned := false
	if cfg.pin && runtime.NumCPU() >= 2 {
		if err := pinToCPU(0); err != nil {
			fmt.Fprintln(os.Stderr, "bench: load generator not pinned:", err)
		} else {
			pinned = true
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-serve", "-server-procs", strconv.Itoa(cfg.serverProcs), "-pin=" + strconv.FormatBool(cfg.pin)}
	if cfg.cpuProfile != "" {
		args = append(args, "-cpuprofile", cfg.cpuProfile)
	}
	child := exec.Command(self, args...)
	child.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(cfg.serverProcs))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	defer func() {
		stdin.Close()
		_ = child.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the server process did not start: %v", err)
	}
	var refAddr, bareAddr string
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "ref=%s bare=%s", &refAddr, &bareAddr); err != nil {
		return fmt.Errorf("the server process said %q", line)
	}
	pid := child.Process.Pid

	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(provider.DemoClientID)+":"+url.QueryEscape(provider.DemoClientSecret)))
	form := "grant_type=client_credentials&scope=read"
	tokenReq := func(addr string) []byte {
		return fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",
			provider.PathToken, addr, basic, len(form), form)
	}
	access, err := fetchToken(refAddr, tokenReq(refAddr))
	if err != nil {
		return err
	}
	readReq := func(addr string) []byte {
		return fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", provider.PathReadResource, addr, access)
	}
	type pair struct {
		label     string
		goal      float64
		bare, ref target
	}
	var pairs []pair
	if cfg.only == "" || cfg.only == "token" {
		pairs = append(pairs, pair{"POST /token", goalTokenRatio,
			target{"bare", bareAddr, tokenReq(bareAddr)}, target{"reference", refAddr, tokenReq(refAddr)}})
	}
	if cfg.only == "" || cfg.only == "read" {
		pairs = append(pairs, pair{"GET /read-resource", goalReadRatio,
			target{"bare", bareAddr, readReq(bareAddr)}, target{"reference", refAddr, readReq(refAddr)}})
	}
	if len(pairs) == 0 {
		return fmt.Errorf("-only must be token or read, not %q", cfg.only)
	}

	fmt.Printf("load: %d workers per target (one keep-alive connection each), %v per measurement, %d rounds, warm-up %v\n",
		cfg.conc, cfg.dur, cfg.rounds, cfg.warmup)
	fmt.Printf("cpu:  %d CPUs; server process GOMAXPROCS=%d, load generator GOMAXPROCS=%d, pinned=%v (server on CPU %d, load on CPU 0)\n",
		runtime.NumCPU(), cfg.serverProcs, cfg.clientProcs, pinned, runtime.NumCPU()-1)
	fmt.Printf("servers: reference %s, bare %s (pid %d)\n\n", refAddr, bareAddr, pid)

	for _, pr := range pairs {
		drive(pr.bare, cfg.conc, cfg.warmup, pid)
		drive(pr.ref, cfg.conc, cfg.warmup, pid)
	}
	type acc struct{ ratios, cpuRatios []float64 }
	accs := make([]acc, len(pairs))
	fmt.Printf("%-20s %5s %-9s %10s %9s %9s %6s %11s %8s %8s %8s\n",
		"endpoint", "round", "server", "req/s", "p50", "p99", "errors", "srv µs/req", "srv CPU", "ld CPU", "ratio")
	for round := 1; round <= cfg.rounds; round++ {
		for i, pr := range pairs {
			b := drive(pr.bare, cfg.conc, cfg.dur, pid)
			r := drive(pr.ref, cfg.conc, cfg.dur, pid)
			ratio := r.rate() / b.rate()
			cpuRatio := b.cpuPerReq() / r.cpuPerReq()
			accs[i].ratios = append(accs[i].ratios, ratio)
			accs[i].cpuRatios = append(accs[i].cpuRatios, cpuRatio)
			for _, x := range []struct {
				name string
				res  result
				tail string
			}{{"bare", b, ""}, {"reference", r, fmt.Sprintf("%7.1f%%", 100*ratio)}} {
				fmt.Printf("%-20s %5d %-9s %10.0f %9s %9s %6d %11.1f %7.0f%% %7.0f%% %8s\n",
					pr.label, round, x.name, x.res.rate(), fmtDur(x.res.p50), fmtDur(x.res.p99), x.res.errs, x.res.cpuPerReq(),
					100*x.res.serverCPU.Seconds()/x.res.elapsed.Seconds(), 100*x.res.clientCPU.Seconds()/x.res.elapsed.Seconds(), x.tail)
				if x.res.errs > 0 {
					return fmt.Errorf("%s %s: %d responses were not 200", x.name, pr.label, x.res.errs)
				}
			}
		}
	}
	fmt.Println()
	fmt.Println("summary (median over rounds; rate ratio = reference req/s over the bare req/s measured right before it;")
	fmt.Println("CPU ratio = bare server CPU per request over reference server CPU per request)")
	for i, pr := range pairs {
		ratio, cpuRatio := median(accs[i].ratios), median(accs[i].cpuRatios)
		verdict := "MET"
		if ratio < pr.goal {
			verdict = "MISSED"
		}
		fmt.Printf("  %-20s rate ratio %5.1f%% (rounds: %s)  CPU ratio %5.1f%%  goal >= %.0f%%: %s\n",
			pr.label, 100*ratio, pcts(accs[i].ratios), 100*cpuRatio, 100*pr.goal, verdict)
	}
	return nil
}

// fetchToken gets the access token the read benchmark sends.
func fetchToken(addr string, req []byte) (string, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.Write(req); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); resp.StatusCode != http.StatusOK || err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("no token from the reference: %s %v", resp.Status, err)
	}
	return tok.AccessToken, nil
}

// drive runs conc workers against t for d and returns what they measured.
func drive(t target, conc int, d time.Duration, serverPID int) result {
	conns := make([]net.Conn, conc)
	for i := range conns {
		c, err := net.Dial("tcp", t.addr)
		if err != nil {
			return result{errs: 1, elapsed: d}
		}
		conns[i] = c
	}
	lats := make([][]time.Duration, conc)
	var errs atomic.Int64
	var start sync.WaitGroup
	start.Add(1)
	var wg sync.WaitGroup
	var stop atomic.Bool
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<14)
			conn := conns[i]
			br := bufio.NewReaderSize(conn, 16<<10)
			start.Wait()
			for !stop.Load() {
				t0 := time.Now()
				if _, err := conn.Write(t.req); err != nil {
					errs.Add(1)
					break
				}
				status, closing, err := readResponse(br)
				if err != nil {
					errs.Add(1)
					break
				}
				lat = append(lat, time.Since(t0))
				if status != http.StatusOK {
					errs.Add(1)
				}
				if closing {
					c, err := net.Dial("tcp", t.addr)
					if err != nil {
						errs.Add(1)
						break
					}
					conn.Close()
					conn, br = c, bufio.NewReaderSize(c, 16<<10)
				}
			}
			conn.Close()
			lats[i] = lat
		}()
	}
	srv0, cli0 := processCPU(serverPID), processCPU(os.Getpid())
	t0 := time.Now()
	start.Done()
	time.Sleep(d)
	stop.Store(true)
	elapsed := time.Since(t0)
	srv1, cli1 := processCPU(serverPID), processCPU(os.Getpid())
	wg.Wait()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	res := result{n: len(all), errs: int(errs.Load()), elapsed: elapsed, serverCPU: srv1 - srv0, clientCPU: cli1 - cli0}
	if len(all) > 0 {
		res.p50 = all[len(all)*50/100]
		res.p99 = all[len(all)*99/100]
	}
	return res
}

// readResponse reads one HTTP/1.1 response with a Content-Length and discards its body. It
// returns the status and whether the server will close the connection.
func readResponse(br *bufio.Reader) (status int, closing bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, err
	}
	length := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, false, err
			}
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, false, errors.New("chunked responses are not supported")
		}
	}
	if length < 0 {
		return 0, false, errors.New("a response without Content-Length")
	}
	_, err = br.Discard(length)
	return status, closing, err
}

// processCPU is the user plus system CPU time of a process, from /proc/<pid>/stat (Linux; zero
// elsewhere).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces; count from after it.
	i := bytes.LastIndexByte(b, ')')
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

func pcts(xs []float64) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, fmt.Sprintf("%.0f%%", 100*x))
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
