package kea

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// DefaultMaxResponseSize bounds one answer. A status-get of a hub with
// dozens of relationships is a few tens of KiB; anything near this bound is
// not a Kea answer to the commands this package sends.
const DefaultMaxResponseSize = 4 << 20

// Options say how to reach one Kea server. Exactly one of URL and Socket.
type Options struct {
	// URL is the http:// or https:// address of a Control Agent (Kea 2.x,
	// removed in 3.1.8) or of the DHCP daemon's own HTTP control socket
	// (Kea 2.7.2+). It must not carry credentials: use Username/Password.
	URL string
	// Socket is the path of the DHCP daemon's UNIX control socket.
	Socket string
	// Service is the Control Agent service the command is forwarded to
	// ("dhcp4"); empty omits the service (the daemon's own sockets). It
	// is ignored on the UNIX socket.
	Service string
	// Username and Password enable HTTP basic authentication (Kea 1.9+).
	Username string
	Password string
	// TLSConfig is used for https URLs (CA file, client certificate).
	TLSConfig *tls.Config
	// Transport, when set, sends the HTTP requests instead of one built
	// from Username, Password and TLSConfig (which are then unused): the
	// exporter builds it from prometheus/common's HTTP client settings.
	// Redirects are never followed and answers stay bounded either way.
	Transport http.RoundTripper
	// MaxResponseSize bounds an answer; 0 means DefaultMaxResponseSize.
	MaxResponseSize int64
}

// Client sends read-only commands to one Kea server. It is safe for
// concurrent use; it holds no connection between commands.
type Client struct {
	service string
	rt      roundTripper
}

// roundTripper sends one command and returns the raw answer, bounded.
type roundTripper interface {
	roundTrip(ctx context.Context, command string, body []byte) ([]byte, error)
	close()
}

// New checks the options and returns a client; it does not connect.
func New(o Options) (*Client, error) {
	if (o.URL == "") == (o.Socket == "") {
		return nil, errors.New("kea: exactly one of URL and Socket must be set")
	}
	max := o.MaxResponseSize
	if max <= 0 {
		max = DefaultMaxResponseSize
	}
	if o.Socket != "" {
		return &Client{rt: &unixTransport{path: o.Socket, max: max}}, nil
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		// url.Parse quotes the whole URL in its error: say less.
		return nil, errors.New("kea: URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("kea: URL scheme %q: want http or https", u.Scheme)
	}
	if u.User != nil {
		return nil, errors.New("kea: URL must not carry credentials; use basic auth settings")
	}
	if u.Host == "" {
		return nil, errors.New("kea: URL has no host")
	}
	if o.Username == "" && o.Password != "" {
		return nil, errors.New("kea: a password needs a username")
	}
	return &Client{service: o.Service, rt: newHTTPTransport(u.String(), o, max)}, nil
}

// Close releases what the client holds (idle HTTP connections).
func (c *Client) Close() { c.rt.close() }

type request struct {
	Command   string   `json:"command"`
	Service   []string `json:"service,omitempty"`
	Arguments any      `json:"arguments,omitempty"`
}

// do sends command and returns the raw answer.
func (c *Client) do(ctx context.Context, command string, args any) ([]byte, error) {
	req := request{Command: command, Arguments: args}
	if c.service != "" {
		if _, isUnix := c.rt.(*unixTransport); !isUnix {
			req.Service = []string{c.service}
		}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("kea: %s: %w", command, err)
	}
	return c.rt.roundTrip(ctx, command, body)
}

// StatusGet reads the server's HA status (status-get, Kea 1.7.3+).
func (c *Client) StatusGet(ctx context.Context) (*Status, error) {
	b, err := c.do(ctx, "status-get", nil)
	if err != nil {
		return nil, err
	}
	return ParseStatusGet(b)
}

// HAHeartbeat asks for the server's heartbeat answer. serverName selects
// the relationship on a server with several (Kea 2.5.5+: the name of a
// server of that relationship); empty sends no arguments. ha-heartbeat
// changes nothing on the server: partners send it to each other every
// heartbeat-delay.
func (c *Client) HAHeartbeat(ctx context.Context, serverName string) (*Heartbeat, error) {
	var args any
	if serverName != "" {
		args = map[string]string{"server-name": serverName}
	}
	b, err := c.do(ctx, "ha-heartbeat", args)
	if err != nil {
		return nil, err
	}
	return ParseHAHeartbeat(b)
}

// redactedURL is the URL for error messages: scheme, host and path only.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<url>"
	}
	return u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/") + "/"
}
