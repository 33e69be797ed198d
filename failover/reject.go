package failover

import "strconv"

// RejectReason is the reject-reason option (draft-12 §12.21): why a
// CONNECTACK refused a connection, a BNDACK refused an update, or a
// DISCONNECT closed the link.
type RejectReason uint8

// Reject reasons (draft-12 §12.21).
const (
	RejectIllegalIPAddress        RejectReason = 1
	RejectFatalConflict           RejectReason = 2
	RejectMissingBindingInfo      RejectReason = 3
	RejectConnectionTimeMismatch  RejectReason = 4 // clock skew: ISC rejects more than 60 s
	RejectInvalidMCLT             RejectReason = 5
	RejectMiscellaneous           RejectReason = 6
	RejectDuplicateConnection     RejectReason = 7
	RejectInvalidPartner          RejectReason = 8
	RejectTLSNotSupported         RejectReason = 9
	RejectTLSNotConfigured        RejectReason = 10
	RejectTLSRequired             RejectReason = 11
	RejectDigestNotSupported      RejectReason = 12
	RejectDigestNotConfigured     RejectReason = 13
	RejectProtocolVersionMismatch RejectReason = 14
	RejectOutdatedBindingInfo     RejectReason = 15
	RejectLessCriticalBindingInfo RejectReason = 16
	RejectNoTraffic               RejectReason = 17
	RejectHashBucketConflict      RejectReason = 18
	RejectIPNotReserved           RejectReason = 19
	RejectDigestFailed            RejectReason = 20
	RejectMissingDigest           RejectReason = 21
	RejectUnknown                 RejectReason = 254
)

type rejectText struct{ text, name string }

var rejectTexts = [RejectMissingDigest + 1]rejectText{
	RejectIllegalIPAddress:        {"illegal IP address", "illegal_ip_address"},
	RejectFatalConflict:           {"fatal conflict", "fatal_conflict"},
	RejectMissingBindingInfo:      {"missing binding information", "missing_binding_information"},
	RejectConnectionTimeMismatch:  {"connection time mismatch", "connection_time_mismatch"},
	RejectInvalidMCLT:             {"invalid MCLT", "invalid_mclt"},
	RejectMiscellaneous:           {"miscellaneous", "miscellaneous"},
	RejectDuplicateConnection:     {"duplicate connection", "duplicate_connection"},
	RejectInvalidPartner:          {"invalid partner", "invalid_partner"},
	RejectTLSNotSupported:         {"TLS not supported", "tls_not_supported"},
	RejectTLSNotConfigured:        {"TLS supported but not configured", "tls_not_configured"},
	RejectTLSRequired:             {"TLS required", "tls_required"},
	RejectDigestNotSupported:      {"message digest not supported", "message_digest_not_supported"},
	RejectDigestNotConfigured:     {"message digest not configured", "message_digest_not_configured"},
	RejectProtocolVersionMismatch: {"protocol version mismatch", "protocol_version_mismatch"},
	RejectOutdatedBindingInfo:     {"outdated binding information", "outdated_binding_information"},
	RejectLessCriticalBindingInfo: {"less critical binding information", "less_critical_binding_information"},
	RejectNoTraffic:               {"no traffic within sufficient time", "no_traffic"},
	RejectHashBucketConflict:      {"hash bucket assignment conflict", "hash_bucket_assignment_conflict"},
	RejectIPNotReserved:           {"IP not reserved on this server", "ip_not_reserved"},
	RejectDigestFailed:            {"message digest failed", "message_digest_failed"},
	RejectMissingDigest:           {"missing message digest", "missing_message_digest"},
}

// Valid reports whether r is one of the reasons of draft-12 §12.21.
func (r RejectReason) Valid() bool {
	return r == RejectUnknown || (r >= 1 && r <= RejectMissingDigest)
}

// String returns the draft's description ("connection time mismatch") or
// "unknown (N)" for a code outside §12.21; it never panics.
func (r RejectReason) String() string {
	switch {
	case r == RejectUnknown:
		return "unknown"
	case r.Valid():
		return rejectTexts[r].text
	}
	return "unknown (" + strconv.Itoa(int(r)) + ")"
}

// Name returns a snake_case name for metric labels
// ("connection_time_mismatch"); "unknown" for 254 and "code_N" for a code
// outside §12.21, so that distinct codes never share a label value.
func (r RejectReason) Name() string {
	switch {
	case r == RejectUnknown:
		return "unknown"
	case r.Valid():
		return rejectTexts[r].name
	}
	return "code_" + strconv.Itoa(int(r))
}
