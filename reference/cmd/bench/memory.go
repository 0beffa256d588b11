package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccconform/ccconform/reference/provider"
)

// runMemory issues n tokens through the provider's handler in this process and reports memory
// before and after, then checks the first token issued against GET /read-resource.
func runMemory(n int) error {
	p, err := provider.New(provider.DefaultConfig(provider.DemoClientID, provider.DemoClientSecret))
	if err != nil {
		return err
	}
	h := p.Handler()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(provider.DemoClientID)+":"+url.QueryEscape(provider.DemoClientSecret)))
	issue := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, provider.PathToken, strings.NewReader("grant_type=client_credentials&scope=read"))
		r.Header.Set("Authorization", basic)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}

	fmt.Printf("memory: %d tokens through Provider.Handler() in this process (httptest requests and recorders, no network), %d workers (GOMAXPROCS %d)\n",
		n, runtime.GOMAXPROCS(0), runtime.GOMAXPROCS(0))
	before := sampleMemory()
	fmt.Printf("before: %s\n", before)

	first := issue()
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(first.Body.Bytes(), &tok); first.Code != http.StatusOK || err != nil || tok.AccessToken == "" {
		return fmt.Errorf("the first token was not issued: %d %s", first.Code, first.Body)
	}
	fmt.Printf("first token issued: expires_in %d s, %d bytes\n", tok.ExpiresIn, len(tok.AccessToken))

	var issued, failed atomic.Int64
	issued.Add(1)
	workers := runtime.GOMAXPROCS(0)
	step := int64(n / 10)
	var report sync.Mutex
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := issued.Add(1)
				if i > int64(n) {
					return
				}
				if rec := issue(); rec.Code != http.StatusOK {
					failed.Add(1)
				}
				if step > 0 && i%step == 0 {
					report.Lock()
					fmt.Printf("  %8d issued  VmRSS %6.1f MB  (%.0f tokens/s)\n", i, float64(vmRSS())/1e6, float64(i)/time.Since(start).Seconds())
					report.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failed.Load() > 0 {
		return fmt.Errorf("%d token requests were not answered 200", failed.Load())
	}
	after := sampleMemory()
	fmt.Printf("after:  %s  (%d tokens in %v, %.0f tokens/s)\n", after, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	fmt.Printf("growth: VmRSS %+.1f MB, HeapInuse %+.1f MB (%+.2f bytes per token); peak VmHWM %.1f MB\n",
		float64(after.rss-before.rss)/1e6, float64(int64(after.heapInuse)-int64(before.heapInuse))/1e6,
		float64(int64(after.heapInuse)-int64(before.heapInuse))/float64(n), float64(after.hwm)/1e6)
	verdict := "MET"
	if after.rss > goalMemoryMB*1e6 {
		verdict = "MISSED"
	}
	fmt.Printf("goal VmRSS after <= %d MB: %s\n\n", goalMemoryMB, verdict)

	// The first token, issued before the million, is still good; tampered copies are not.
	read := func(token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, provider.PathReadResource, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	t := tok.AccessToken
	dot := strings.IndexByte(t, '.')
	payload, mac := t[:dot], t[dot+1:]
	checks := []struct {
		name, token string
		want        int
	}{
		{"first token, as issued", t, http.StatusOK},
		{"payload: a significant bit changed", flipBits(payload, len(payload)/2, 0x20) + "." + mac, http.StatusUnauthorized},
		{"payload: unused bits of its last character", flipUnusedBits(payload) + "." + mac, http.StatusUnauthorized},
		{"MAC: a significant bit changed", payload + "." + flipBits(mac, len(mac)/2, 0x20), http.StatusUnauthorized},
		{"MAC: unused bits of its last character", payload + "." + flipUnusedBits(mac), http.StatusUnauthorized},
		{"MAC truncated", t[:len(t)-1], http.StatusUnauthorized},
		{"MAC of another token", payload + tailFrom(issue()), http.StatusUnauthorized},
	}
	ok := true
	for _, c := range checks {
		rec := read(c.token)
		good := rec.Code == c.want
		if c.want == http.StatusUnauthorized {
			good = good && strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`)
		}
		mark := "ok"
		if !good {
			mark, ok = "FAIL", false
		}
		fmt.Printf("  %-4s %-44s -> %d  WWW-Authenticate: %s\n", mark, c.name, rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	if !ok {
		return fmt.Errorf("a token check failed (see FAIL above)")
	}
	if verdict != "MET" {
		return fmt.Errorf("VmRSS %.1f MB after %d tokens: over the goal of %d MB", float64(after.rss)/1e6, n, goalMemoryMB)
	}
	return nil
}

// tailFrom returns the ".mac" part of the token in a token response.
func tailFrom(rec *httptest.ResponseRecorder) string {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &tok)
	if i := strings.IndexByte(tok.AccessToken, '.'); i >= 0 {
		return tok.AccessToken[i:]
	}
	return ""
}

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// flipBits xors the 6-bit value of the base64url character at i with bits.
func flipBits(s string, i int, bits byte) string {
	v := strings.IndexByte(b64url, s[i])
	if v < 0 {
		return s
	}
	return s[:i] + string(b64url[byte(v)^bits]) + s[i+1:]
}

// flipUnusedBits changes the low bit of the last character of unpadded base64url text whose
// length leaves that bit unused (a length of 2 or 3 mod 4): the decoded bytes stay the same, only
// the spelling changes. A strict decoder refuses such text.
func flipUnusedBits(s string) string {
	if len(s)%4 == 0 || len(s)%4 == 1 {
		return s
	}
	return flipBits(s, len(s)-1, 0x01)
}

type memSample struct {
	rss, hwm, heapInuse uint64
	goroutines          int
}

func (m memSample) String() string {
	return fmt.Sprintf("VmRSS %6.1f MB  HeapInuse %6.1f MB  goroutines %d", float64(m.rss)/1e6, float64(m.heapInuse)/1e6, m.goroutines)
}

// sampleMemory collects garbage, then reads the heap statistics and the resident set size.
func sampleMemory() memSample {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{rss: vmRSS(), hwm: procStatus(0, "VmHWM:"), heapInuse: ms.HeapInuse, goroutines: runtime.NumGoroutine()}
}

func vmRSS() uint64 { return procStatus(0, "VmRSS:") }

// procStatus reads a "kB" field of /proc/<pid>/status (pid 0: this process), in bytes (0 when
// there is none).
func procStatus(pid int, field string) uint64 {
	name := "/proc/self/status"
	if pid != 0 {
		name = fmt.Sprintf("/proc/%d/status", pid)
	}
	f, err := os.Open(name)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if rest, ok := bytes.CutPrefix(line, []byte(field)); ok {
			fields := strings.Fields(string(rest))
			if len(fields) == 0 {
				return 0
			}
			kb, _ := strconv.ParseUint(fields[0], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
