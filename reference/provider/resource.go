package provider

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"sync"
)

// maxResourceBodyBytes bounds a /write-resource body.
const maxResourceBodyBytes = 64 << 10

// resourceStore holds the one resource of the documented scenario: the last value written, or
// JSON null before the first write. It keeps the whole read response, built once per write.
type resourceStore struct {
	mu       sync.RWMutex
	response []byte // {"resource":<value>}\n, nil before the first write
}

// nullResponse is the read response before the first write.
var nullResponse = []byte(`{"resource":null}` + "\n")

// readResponse is the body GET /read-resource answers. The stored value is already valid JSON
// (readValue checked it), so it is written as it is rather than encoded again.
func (s *resourceStore) readResponse() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.response == nil {
		return nullResponse
	}
	return s.response
}

func (s *resourceStore) set(v json.RawMessage) {
	body := append(append(append(make([]byte, 0, len(v)+15), `{"resource":`...), v...), "}\n"...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.response = body
}

// handlePublic answers the scenario's public route.
func handlePublic(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "moo")
}

// handleRead answers {"resource": <last written value, or null>}.
func (p *Provider) handleRead(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Content-Type"] = headerJSON
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(p.resource.readResponse())
}

// handleWrite stores the value of {"value": …} (or of a form field value) and answers
// {"message": "resource created"}, as the documented provider does.
func (p *Provider) handleWrite(w http.ResponseWriter, r *http.Request) {
	value, err := readValue(w, r)
	if err != nil {
		status := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		// The application's own refusal: a message, as its success is, not an OAuth error code,
		// which would read as the Bearer middleware's.
		writeJSON(w, status, map[string]string{"message": err.Error()})
		return
	}
	p.resource.set(value)
	writeJSON(w, http.StatusOK, map[string]string{"message": "resource created"})
}

var errNoValue = errors.New("the body must be one JSON object with a value member, or a form with a value field")

func readValue(w http.ResponseWriter, r *http.Request) (json.RawMessage, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		if r.PostForm == nil { // the Bearer middleware may have parsed it already
			r.Body = http.MaxBytesReader(w, r.Body, maxResourceBodyBytes)
			if err := r.ParseForm(); err != nil {
				return nil, err
			}
		}
		if !r.PostForm.Has("value") {
			return nil, errNoValue
		}
		return json.Marshal(r.PostForm.Get("value"))
	}
	var body struct {
		Value json.RawMessage `json:"value"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxResourceBodyBytes))
	if err := dec.Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, errNoValue
	}
	if body.Value == nil {
		return nil, errNoValue
	}
	// One JSON object and nothing after it but white space: {"value":1}{"junk" is not a body
	// the handler understands, and storing its first half would hide that.
	if _, err := dec.Token(); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, errNoValue
	}
	return body.Value, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
