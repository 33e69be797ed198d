package omapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// Client reads failover-state objects from one dhcpd. It keeps its
// connection between calls and re-reads an object it has opened with a
// REFRESH of its handle; after any error it drops the connection, and the
// next call connects (and authenticates) again.
//
// A Client is safe for use by one goroutine at a time per call; calls are
// serialized.
type Client struct {
	addr string
	key  *Key
	// Dial opens the TCP connection; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu   sync.Mutex
	conn net.Conn
	br   *bufio.Reader
	// Kept for the life of the client, so that a poll on a kept
	// connection allocates little: the keyed HMAC, the buffer messages
	// are encoded into, the decoder's buffer and the answer it decodes
	// into (valid until the next round trip).
	mac     *mac
	out     []byte
	dec     decoder
	reply   Message
	authID  uint32
	nextID  uint32
	handles map[string]uint32 // relationship name → object handle
	// sent counts what this client sent, by operation (tests prove it
	// only ever opens and refreshes).
	sent map[Op]int
}

// NewClient returns a client for the OMAPI server at addr (host:port).
// key nil talks to a server without omapi-key.
func NewClient(addr string, key *Key) *Client {
	c := &Client{addr: addr, key: key}
	if key != nil {
		c.mac = key.mac()
	}
	return c
}

// Close drops the kept connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropLocked()
}

func (c *Client) dropLocked() error {
	c.handles = nil
	c.br = nil
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

// Sent returns how many messages of each operation the client has sent.
func (c *Client) Sent() map[Op]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[Op]int, len(c.sent))
	for k, v := range c.sent {
		out[k] = v
	}
	return out
}

// FailoverState reads the failover-state object of relationship name:
// an OPEN the first time on a connection, a REFRESH of its handle after.
// Everything happens under ctx (its deadline bounds every read and
// write). An unknown name gives an error matching ErrNotFound and keeps
// the connection.
func (c *Client) FailoverState(ctx context.Context, name string) (*FailoverState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reused := c.conn != nil
	fs, err := c.failoverState(ctx, name)
	if err != nil && reused && staleConn(err) && ctx.Err() == nil {
		// A kept connection the server has since closed (restart, idle
		// close): the failure says nothing about the server now, so try
		// once more on a fresh connection.
		fs, err = c.failoverState(ctx, name)
	}
	return fs, err
}

func staleConn(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, ErrClosed) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) ||
		isConnReset(err)
}

func isConnReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (c *Client) failoverState(ctx context.Context, name string) (fs *FailoverState, err error) {
	defer func() {
		// Keep the connection only when the exchange ended cleanly: an
		// error other than "no such object" leaves it in an unknown state.
		if err != nil && !errors.Is(err, ErrNotFound) {
			c.dropLocked()
		}
	}()
	if c.conn == nil {
		if err := c.connect(ctx); err != nil {
			c.dropLocked() // never keep a connection that did not authenticate
			return nil, err
		}
	}
	stop := c.watch(ctx)
	defer stop()

	m := &Message{Op: OpOpen}
	h, known := c.handles[name]
	if known {
		m.Op, m.Handle = OpRefresh, h
	} else {
		m.Message = []Value{{Name: "type", Data: []byte("failover-state")}}
		m.Object = []Value{{Name: "name", Data: []byte(name)}}
	}
	reply, err := c.roundTrip(ctx, m)
	if err != nil {
		// A handle the server no longer knows must not be refreshed
		// forever: the next call opens the object by name again.
		delete(c.handles, name)
		return nil, err
	}
	if reply.Op != OpUpdate {
		return nil, protoErr("%s answered with %s", m.Op, reply.Op)
	}
	fs, err = decodeFailoverState(reply.Object, name)
	if err != nil {
		return nil, err
	}
	if fs.Name != name {
		return nil, protoErr("asked for failover-state %q, got %q", name, fs.Name)
	}
	if c.handles == nil {
		c.handles = map[string]uint32{}
	}
	c.handles[name] = reply.Handle
	return fs, nil
}

// watch makes ctx's end interrupt a blocked read or write on the kept
// connection (the deadline alone would not cover a cancel).
func (c *Client) watch(ctx context.Context) func() {
	conn := c.conn
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	} else {
		conn.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

// connect dials, exchanges the connection start and authenticates.
func (c *Client) connect(ctx context.Context) error {
	dial := c.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	conn, err := dial(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	c.conn = conn
	c.br = bufio.NewReaderSize(conn, 4096)
	c.authID = 0
	c.handles = nil
	if c.nextID == 0 {
		var b [4]byte
		rand.Read(b[:])
		c.nextID = binary.BigEndian.Uint32(b[:])&0x7fffffff | 1
	}
	stop := c.watch(ctx)
	defer stop()

	// Connection start: each side sends its protocol version and header
	// size (omapip/protocol.c, omapi_protocol_send_intro).
	var intro [8]byte
	binary.BigEndian.PutUint32(intro[0:], ProtocolVersion)
	binary.BigEndian.PutUint32(intro[4:], HeaderLen)
	if _, err := conn.Write(intro[:]); err != nil {
		return fmt.Errorf("omapi: sending connection start: %w", err)
	}
	var got [8]byte
	if _, err := io.ReadFull(c.br, got[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = ErrClosed
		}
		return fmt.Errorf("omapi: reading connection start: %w", err)
	}
	if v, h := binary.BigEndian.Uint32(got[0:]), binary.BigEndian.Uint32(got[4:]); v != ProtocolVersion || h != HeaderLen {
		return protoErr("not an OMAPI server: it answered %s (want version %d with %d-byte headers)", heard(got[:], v, h), ProtocolVersion, HeaderLen)
	}
	if c.key == nil {
		return nil
	}
	// Authenticate: OPEN an authenticator object naming the key; the
	// unsigned UPDATE that answers carries the handle that every later
	// message gives as its authid (omapip/protocol.c).
	reply, err := c.roundTrip(ctx, &Message{
		Op:      OpOpen,
		Message: []Value{{Name: "type", Data: []byte("authenticator")}},
		Object: []Value{
			{Name: "name", Data: []byte(c.key.Name)},
			{Name: "algorithm", Data: []byte(c.key.alg.name)},
		},
	})
	var se *StatusError
	if errors.As(err, &se) {
		// dhcpd answers an authenticator naming a key it does not have
		// (or with another algorithm) with status 23, "no object matches":
		// that is a refused key, not a missing relationship.
		return fmt.Errorf("%w: %s refused: server answered status %#x %q", ErrAuth, c.key, se.Result, se.Message)
	}
	if err != nil {
		return fmt.Errorf("omapi: authenticating with %s: %w", c.key, err)
	}
	if reply.Op != OpUpdate || reply.Handle == 0 {
		return fmt.Errorf("omapi: authenticating with %s: %w", c.key, protoErr("got %s with handle %d", reply.Op, reply.Handle))
	}
	c.authID = reply.Handle
	return nil
}

// roundTrip sends m (signed once authenticated) and reads its answer.
func (c *Client) roundTrip(ctx context.Context, m *Message) (*Message, error) {
	// Defence in depth: whatever a future change does, this client only
	// ever sends OPEN and REFRESH (docs/protocol.md §3: writing local-state changes the server's state).
	if m.Op != OpOpen && m.Op != OpRefresh {
		return nil, fmt.Errorf("omapi: refusing to send %s", m.Op)
	}
	c.nextID++
	m.ID = c.nextID
	var key *Key
	if c.authID != 0 {
		m.AuthID, key = c.authID, c.key
	}
	if key != nil {
		c.out = m.appendEncoded(c.out[:0], c.mac, key.alg.size)
	} else {
		c.out = m.appendEncoded(c.out[:0], nil, 0)
	}
	if _, err := c.conn.Write(c.out); err != nil {
		return nil, c.ctxErr(ctx, fmt.Errorf("omapi: sending %s: %w", m.Op, err))
	}
	if c.sent == nil {
		c.sent = map[Op]int{}
	}
	c.sent[m.Op]++
	c.dec.r = c.br
	reply := &c.reply
	if err := c.dec.message(reply); err != nil {
		return nil, c.ctxErr(ctx, fmt.Errorf("omapi: reading the answer to %s: %w", m.Op, err))
	}
	if reply.RID != m.ID {
		return nil, protoErr("answer to message %d is for message %d", m.ID, reply.RID)
	}
	if key != nil && !reply.verify(c.mac, key.alg.size, c.authID) {
		if reply.Op == OpStatus && reply.AuthID == 0 {
			// dhcpd answers a message it cannot verify with an
			// unsigned status (DHCP_R_INVALIDKEY): our key is wrong.
			if se := statusError(reply); se != nil {
				return nil, fmt.Errorf("%w: %w", ErrAuth, se)
			}
		}
		return nil, fmt.Errorf("%w: answer to %s is not signed with %s", ErrAuth, m.Op, key)
	}
	if reply.Op == OpStatus {
		if se := statusError(reply); se != nil {
			return nil, se
		}
	}
	return reply, nil
}

func statusError(m *Message) *StatusError {
	se := &StatusError{}
	if r, ok := m.GetMessage("result"); ok && len(r) == 4 {
		se.Result = binary.BigEndian.Uint32(r)
	} else {
		se.Result = ^uint32(0)
	}
	if se.Result == ResultSuccess {
		return nil
	}
	if t, ok := m.GetMessage("message"); ok {
		if len(t) > 256 {
			t = t[:256]
		}
		se.Message = string(t)
	}
	return se
}

// ctxErr prefers the context's own error when it ended the exchange, so a
// cancel is not mistaken for a network failure.
func (c *Client) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return err
}

// heard describes the first bytes of a server that is not OMAPI: text as
// text, naming the protocols a port is often mistaken for; otherwise the
// version and header size the bytes would mean.
func heard(b []byte, version, headerLen uint32) string {
	for _, c := range b {
		if (c < ' ' || c > '~') && c != '\r' && c != '\n' {
			return fmt.Sprintf("version %d with %d-byte headers", version, headerLen)
		}
	}
	what := ""
	switch {
	case bytes.HasPrefix(b, []byte("HTTP/")):
		what = ", an HTTP server"
	case bytes.HasPrefix(b, []byte("SSH-")):
		what = ", an SSH server"
	}
	return fmt.Sprintf("%q%s", b, what)
}
