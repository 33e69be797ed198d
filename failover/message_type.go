package failover

import "strconv"

// MessageType is the message-type octet of the failover header
// (draft-12 §6.1; docs/protocol.md §1). Wireshark's dissector swaps
// the labels of 7 and 9; ISC and the draft agree on the list below.
type MessageType uint8

// Message types (draft-12 §6.1).
const (
	MsgPoolReq    MessageType = 1
	MsgPoolResp   MessageType = 2
	MsgBndUpd     MessageType = 3
	MsgBndAck     MessageType = 4
	MsgConnect    MessageType = 5
	MsgConnectAck MessageType = 6
	MsgUpdReqAll  MessageType = 7
	MsgUpdDone    MessageType = 8
	MsgUpdReq     MessageType = 9
	MsgState      MessageType = 10
	MsgContact    MessageType = 11
	MsgDisconnect MessageType = 12
)

// NumMessageTypes is the highest defined message type; MessageTypes()
// lists 1..NumMessageTypes.
const NumMessageTypes = 12

var messageTypeNames = [NumMessageTypes + 1]string{
	"", "POOLREQ", "POOLRESP", "BNDUPD", "BNDACK", "CONNECT", "CONNECTACK",
	"UPDREQALL", "UPDDONE", "UPDREQ", "STATE", "CONTACT", "DISCONNECT",
}

// MessageTypes returns every defined message type in numeric order.
func MessageTypes() []MessageType {
	t := make([]MessageType, NumMessageTypes)
	for i := range t {
		t[i] = MessageType(i + 1)
	}
	return t
}

// Valid reports whether t is one of the twelve draft-12 message types.
func (t MessageType) Valid() bool { return t >= 1 && t <= NumMessageTypes }

// String returns the draft's name ("BNDUPD") or "unknown (N)"; it never
// panics.
func (t MessageType) String() string {
	if t.Valid() {
		return messageTypeNames[t]
	}
	return "unknown (" + strconv.Itoa(int(t)) + ")"
}

// ParseMessageType parses a name as String prints it ("CONNECTACK").
func ParseMessageType(name string) (MessageType, bool) {
	for i := 1; i <= NumMessageTypes; i++ {
		if messageTypeNames[i] == name {
			return MessageType(i), true
		}
	}
	return 0, false
}
