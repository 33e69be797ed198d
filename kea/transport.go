package kea

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// httpTransport posts commands to a Control Agent or to the daemon's own
// HTTP control socket. It keeps no connection alive between polls: one
// poll every few seconds does not need it, and a Kea listener that closed
// an idle connection would otherwise cost a failed poll.
type httpTransport struct {
	url, shownURL      string
	username, password string
	max                int64
	client             *http.Client
}

func newHTTPTransport(rawURL string, o Options, max int64) *httpTransport {
	var tlsConf = o.TLSConfig
	if tlsConf != nil {
		tlsConf = tlsConf.Clone()
	}
	tr := &http.Transport{
		// No proxy from the environment: the exporter talks to the
		// server it was told to, directly.
		Proxy:              nil,
		DialContext:        (&net.Dialer{KeepAlive: -1}).DialContext,
		TLSClientConfig:    tlsConf,
		DisableKeepAlives:  true,
		DisableCompression: true,
		// Bounds the response headers; the body is bounded by max.
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      false,
	}
	t := &httpTransport{
		url:      rawURL,
		shownURL: redactedURL(rawURL),
		username: o.Username,
		password: o.Password,
		max:      max,
	}
	var rt http.RoundTripper = tr
	if o.Transport != nil {
		rt, t.username, t.password = o.Transport, "", ""
	}
	t.client = &http.Client{
		Transport: rt,
		// A redirect is not a Kea answer; following it could send
		// the credentials elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return t
}

func (t *httpTransport) close() { t.client.CloseIdleConnections() }

func (t *httpTransport) roundTrip(ctx context.Context, command string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: building the request for %s", ErrProtocol, command, t.shownURL)
	}
	req.Header.Set("Content-Type", "application/json")
	if t.username != "" {
		req.SetBasicAuth(t.username, t.password)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		// net/http reports a plain HTTP listener behind an https URL only
		// as text (transport.go, tls.RecordHeaderError turned into a string).
		if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
			return nil, fmt.Errorf("%w: %s: %s answers plain HTTP, not TLS", ErrProtocol, command, t.shownURL)
		}
		// Bytes that are not HTTP, or headers past MaxResponseHeaderBytes,
		// net/http also reports only as text (transport.go, readResponse).
		if notHTTP(err) {
			return nil, fmt.Errorf("%w: %s: %s does not answer HTTP", ErrProtocol, command, t.shownURL)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: %s: %s", ErrClosed, command, t.shownURL)
		}
		// A TLS alert about certificates from the server (Kea's
		// cert-required) means our client certificate is missing or
		// not trusted: an authentication failure.
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "remote error" && strings.Contains(oe.Err.Error(), "certificate") {
			return nil, fmt.Errorf("%w: %s: %w", ErrAuth, command, err)
		}
		// *url.Error names the URL, which never carries credentials
		// (New refuses them), and keeps the network error for errors.As.
		return nil, fmt.Errorf("kea: %s: %w", command, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, t.max+1))
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %s: %s closed the connection during the answer", ErrClosed, command, t.shownURL)
	}
	if err != nil {
		return nil, fmt.Errorf("kea: %s: reading the answer from %s: %w", command, t.shownURL, err)
	}
	if int64(len(b)) > t.max {
		return nil, fmt.Errorf("%w: %s: more than %d bytes from %s", ErrTooLarge, command, t.max, t.shownURL)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return b, nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return nil, fmt.Errorf("%w: %s: HTTP %d from %s", ErrAuth, command, resp.StatusCode, t.shownURL)
	}
	return nil, fmt.Errorf("%w: %s: HTTP %d from %s", ErrProtocol, command, resp.StatusCode, t.shownURL)
}

// notHTTP recognises net/http's errors for an answer that is not HTTP
// (net/http transport.go and response.go, net/textproto: "malformed HTTP
// response", "malformed HTTP status code", "malformed MIME header...",
// "server response headers exceeded N bytes").
func notHTTP(err error) bool {
	s := err.Error()
	return strings.Contains(s, "malformed HTTP") || strings.Contains(s, "malformed MIME") || strings.Contains(s, "server response headers exceeded")
}

// unixTransport writes a command to the daemon's UNIX control socket and
// reads one JSON answer. Kea reads the command until it parses, answers,
// and closes; reading exactly one JSON value works whether or not it closes.
type unixTransport struct {
	path string
	max  int64
}

func (t *unixTransport) close() {}

// pastDeadline makes blocked reads and writes return at once.
var pastDeadline = time.Unix(1, 0)

func (t *unixTransport) roundTrip(ctx context.Context, command string, body []byte) ([]byte, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", t.path)
	if err != nil {
		return nil, fmt.Errorf("kea: %s: %w", command, err)
	}
	defer conn.Close()
	// The context alone ends a blocked read or write: its deadline or
	// cancellation sets a past deadline on the connection, after ctx.Err()
	// is set, so the error returned is the context's.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(pastDeadline) })
	defer stop()
	fail := func(err error) ([]byte, error) {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("kea: %s: %w", command, ctx.Err())
		}
		return nil, err
	}
	if _, err := conn.Write(body); err != nil {
		return fail(fmt.Errorf("kea: %s: writing to %s: %w", command, t.path, err))
	}
	br := &boundedReader{r: conn, n: t.max}
	var raw json.RawMessage
	if err := json.NewDecoder(br).Decode(&raw); err != nil {
		switch {
		case errors.Is(err, ErrTooLarge):
			return nil, fmt.Errorf("%w: %s: more than %d bytes from %s", ErrTooLarge, command, t.max, t.path)
		case br.read == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
			return fail(fmt.Errorf("%w: %s: %s", ErrClosed, command, t.path))
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return fail(fmt.Errorf("%w: %s: %s closed before a complete answer", ErrProtocol, command, t.path))
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: %s: %v", ErrProtocol, command, err)
		}
		return fail(fmt.Errorf("kea: %s: reading from %s: %w", command, t.path, err))
	}
	return raw, nil
}

// boundedReader fails with ErrTooLarge once n bytes have been read and
// more are asked for.
type boundedReader struct {
	r    io.Reader
	n    int64
	read int64 // bytes read so far
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	b.read += int64(n)
	return n, err
}
