// Package keatest is a scriptable fake of a Kea control channel over HTTP
// (a Control Agent, or Kea 3.0's own HTTP control socket), for unit tests
// of the kea client and of the collector's Kea source. It answers each
// command with bytes the test sets, typically an answer recorded from a
// real server (kea/testdata). Tests against the real Kea servers live in
// integration/.
package keatest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
)

// Unsupported is what Kea answers to a command it does not know (an HA
// command without the HA hook), as the Control Agent wraps it.
var Unsupported = []byte(`[ { "result": 2, "text": "'ha-heartbeat' command not supported." } ]`)

// Server is an http.Handler answering Kea commands. The zero value
// answers every command with Unsupported; it is safe for concurrent use.
type Server struct {
	mu       sync.Mutex
	answers  map[string][]byte
	status   int
	user     string
	password string
	requests []map[string]any
}

// New returns a server answering command with answer (more with Set).
func New(command string, answer []byte) *Server {
	s := &Server{}
	s.Set(command, answer)
	return s
}

// Set makes the server answer command with answer from now on.
func (s *Server) Set(command string, answer []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answers == nil {
		s.answers = map[string][]byte{}
	}
	s.answers[command] = answer
}

// SetStatus sends an HTTP status other than 200 with every answer (0: 200).
func (s *Server) SetStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

// SetBasicAuth requires these credentials; without them the server answers
// 401 with the bare JSON object Kea's Control Agent sends.
func (s *Server) SetBasicAuth(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.password = user, password
}

// Requests returns the commands received so far, decoded.
func (s *Server) Requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.requests...)
}

// LastRequest is the last command received, or nil.
func (s *Server) LastRequest() map[string]any {
	r := s.Requests()
	if len(r) == 0 {
		return nil
	}
	return r[len(r)-1]
}

// ServeHTTP answers one command as Kea does: POST with a JSON body only.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if s.user != "" || s.password != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != s.user || p != s.password {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{ "result": 401, "text": "Unauthorized" }`)
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req map[string]any
	if err != nil || json.Unmarshal(bytes.TrimSpace(body), &req) != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	s.requests = append(s.requests, req)
	cmd, _ := req["command"].(string)
	answer, ok := s.answers[cmd]
	if !ok {
		answer = Unsupported
	}
	w.Header().Set("Content-Type", "application/json")
	if s.status != 0 {
		w.WriteHeader(s.status)
	}
	w.Write(answer)
}
