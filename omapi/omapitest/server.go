// Package omapitest is a scriptable fake of ISC dhcpd's OMAPI listener, for
// tests of the omapi client and of the exporter's omapi source without a
// real server. It answers the way dhcpd 4.4 does (checked against the
// captures in omapi/testdata): authenticator OPEN, failover-state OPEN and
// REFRESH, unsigned INVALIDKEY status for a bad signature, status 23 for
// an unknown object.
package omapitest

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/omapi"
)

// Server is a fake OMAPI server on 127.0.0.1.
type Server struct {
	// Addr is host:port to dial.
	Addr string

	ln  net.Listener
	key *omapi.Key
	wg  sync.WaitGroup

	mu       sync.Mutex
	objects  map[string][]omapi.Value // failover-state name → object values
	handles  map[uint32]string
	nextH    uint32
	received []omapi.Op
	conns    int
	hang     bool
	open     map[net.Conn]bool
	closed   bool
}

// New starts a server; key nil accepts unauthenticated clients, otherwise
// only clients that authenticate with key (same name, algorithm and
// secret) get answers. It stops in Close.
func New(key *omapi.Key) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, key: key, objects: map[string][]omapi.Value{},
		handles: map[uint32]string{}, nextH: 100, open: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Close stops the server and closes its connections.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// SetFailoverState makes (or replaces) the failover-state object f.Name.
func (s *Server) SetFailoverState(f omapi.FailoverState) {
	s.SetObject(f.Name, FailoverStateValues(f))
}

// SetObject sets the raw object values of failover-state name.
func (s *Server) SetObject(name string, values []omapi.Value) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[name] = values
}

// SetHang makes the server read requests and never answer (a SIGSTOPped
// dhcpd seen from the client).
func (s *Server) SetHang(hang bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = hang
}

// DropConnections closes every open connection (a restarted server).
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.open {
		c.Close()
		delete(s.open, c)
	}
}

// Received lists the operation of every message received, in order.
func (s *Server) Received() []omapi.Op {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]omapi.Op(nil), s.received...)
}

// Connections counts the connections accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns++
		s.open[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
			s.mu.Lock()
			delete(s.open, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

const authHandle = 1 // the authenticator's handle, as dhcpd gives it

func (s *Server) handle(c net.Conn) {
	var intro [8]byte
	binary.BigEndian.PutUint32(intro[0:], omapi.ProtocolVersion)
	binary.BigEndian.PutUint32(intro[4:], omapi.HeaderLen)
	if _, err := c.Write(intro[:]); err != nil {
		return
	}
	br := bufio.NewReader(c)
	if _, err := io.ReadFull(br, intro[:]); err != nil {
		return
	}
	var authed bool // this connection has opened the authenticator
	for {
		m, err := omapi.ReadMessage(br)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.received = append(s.received, m.Op)
		hang := s.hang
		s.mu.Unlock()
		if hang {
			continue
		}
		reply, sign := s.answer(m, &authed)
		var key *omapi.Key
		if sign {
			reply.AuthID, key = authHandle, s.key
		}
		reply.RID = m.ID
		s.mu.Lock()
		s.nextH++
		reply.ID = s.nextH + 1<<20
		s.mu.Unlock()
		if _, err := c.Write(reply.Encode(key)); err != nil {
			return
		}
	}
}

// answer builds the reply to m and says whether to sign it.
func (s *Server) answer(m *omapi.Message, authed *bool) (*omapi.Message, bool) {
	typ, _ := m.GetMessage("type")
	if m.Op == omapi.OpOpen && string(typ) == "authenticator" && m.AuthID == 0 {
		name, _ := m.Get("name")
		alg, _ := m.Get("algorithm")
		if s.key == nil || string(name) != s.key.Name || string(alg) != s.key.Algorithm() {
			// dhcpd looks the key up as an object: an unknown name or
			// another algorithm is "no object matches" (seen on 4.4.3).
			return status(omapi.ResultNotFound, "no object matches specification"), false
		}
		*authed = true
		return &omapi.Message{Op: omapi.OpUpdate, Handle: authHandle, Object: m.Object}, false
	}
	if s.key != nil {
		if !*authed || m.AuthID == 0 {
			return status(omapi.ResultNoKeys, "No authenticator on message"), false
		}
		if !m.Verify(s.key, authHandle) {
			return status(omapi.ResultInvalidKey, ""), false
		}
	}
	sign := s.key != nil
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m.Op {
	case omapi.OpOpen:
		if string(typ) != "failover-state" {
			return status(omapi.ResultNotFound, "no object matches specification"), sign
		}
		name, _ := m.Get("name")
		vs, ok := s.objects[string(name)]
		if !ok {
			return status(omapi.ResultNotFound, "no object matches specification"), sign
		}
		h := s.handleFor(string(name))
		return &omapi.Message{Op: omapi.OpUpdate, Handle: h, Object: vs}, sign
	case omapi.OpRefresh:
		name, ok := s.handles[m.Handle]
		if !ok {
			return status(omapi.ResultNotFound, "no matching handle"), sign
		}
		return &omapi.Message{Op: omapi.OpUpdate, Handle: m.Handle, Object: s.objects[name]}, sign
	}
	return status(uint32(omapi.ResultNoPerm), "not implemented by the fake"), sign
}

func (s *Server) handleFor(name string) uint32 {
	for h, n := range s.handles {
		if n == name {
			return h
		}
	}
	s.nextH++
	s.handles[s.nextH] = name
	return s.nextH
}

func status(result uint32, text string) *omapi.Message {
	m := &omapi.Message{Op: omapi.OpStatus, Message: []omapi.Value{{Name: "result", Data: omapi.Uint32(result)}}}
	if text != "" {
		m.Message = append(m.Message, omapi.Value{Name: "message", Data: []byte(text)})
	}
	return m
}

// FailoverStateValues encodes f as dhcpd 4.4 sends the object, in its
// order, with the garbage partner-address/local-address it sends. The
// states sent are f.Local.Code and f.Partner.Code (ISC wire codes).
func FailoverStateValues(f omapi.FailoverState) []omapi.Value {
	u := omapi.Uint32
	secs := func(d time.Duration) []byte { return u(uint32(d / time.Second)) }
	unix := func(t time.Time) []byte {
		if t.IsZero() {
			return u(0)
		}
		return u(uint32(t.Unix()))
	}
	hba := f.LoadBalanceHBA
	if hba == nil {
		hba = make([]byte, 32)
	}
	return []omapi.Value{
		{Name: "name", Data: []byte(f.Name)},
		{Name: "partner-address", Data: []byte{0x20, 0x52, 0xf9, 0x61, 0x42, 0x56, 0, 0}},
		{Name: "partner-port", Data: u(f.PartnerPort)},
		{Name: "local-address", Data: []byte{0x70, 0x51, 0xf9, 0x61, 0x42, 0x56, 0, 0}},
		{Name: "local-port", Data: u(f.LocalPort)},
		{Name: "max-outstanding-updates", Data: u(f.MaxOutstandingUpdates)},
		{Name: "mclt", Data: secs(f.MCLT)},
		{Name: "load-balance-max-secs", Data: secs(f.LoadBalanceMax)},
		{Name: "load-balance-hba", Data: hba},
		{Name: "partner-state", Data: u(f.Partner.Code)},
		{Name: "local-state", Data: u(f.Local.Code)},
		{Name: "partner-stos", Data: unix(f.Partner.STOS)},
		{Name: "local-stos", Data: unix(f.Local.STOS)},
		{Name: "hierarchy", Data: u(f.Hierarchy)},
		{Name: "last-packet-sent", Data: u(0)},
		{Name: "last-timestamp-received", Data: u(0)},
		{Name: "skew", Data: u(0)},
		{Name: "max-response-delay", Data: secs(f.MaxResponseDelay)},
		{Name: "cur-unacked-updates", Data: u(f.CurUnackedUpdates)},
	}
}
