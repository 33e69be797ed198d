package kea

import (
	"fmt"
	"strings"
)

// dump prints relationships with pointer fields dereferenced, for
// comparisons with readable diffs.
func dump(rs []Relationship) string {
	var b strings.Builder
	for i, r := range rs {
		fmt.Fprintf(&b, "[%d] mode=%q local=%+v\n", i, r.Mode, r.Local)
		if r.Remote == nil {
			b.WriteString("    remote=nil\n")
			continue
		}
		m := r.Remote
		fmt.Fprintf(&b, "    remote role=%q last-state=%q last-scopes=%q server-name=%q system-time=%v\n",
			m.Role, m.LastState, m.LastScopes, m.ServerName, m.SystemTime)
		fmt.Fprintf(&b, "    age=%s in-touch=%s comm-int=%s connecting=%s unacked=%s left=%s analyzed=%s skew=%s\n",
			p(m.Age), p(m.InTouch), p(m.CommunicationInterrupted), p(m.ConnectingClients),
			p(m.UnackedClients), p(m.UnackedClientsLeft), p(m.AnalyzedPackets), p(m.ClockSkew))
	}
	return b.String()
}

func p[T any](v *T) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprint(*v)
}
