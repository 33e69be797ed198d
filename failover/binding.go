package failover

import "strconv"

// BindingStatus is the binding-status option of BNDUPD/BNDACK
// (draft-12 §12.3): the state of the lease being updated.
type BindingStatus uint8

// Binding statuses (draft-12 §12.3).
const (
	BindingFree      BindingStatus = 1
	BindingActive    BindingStatus = 2
	BindingExpired   BindingStatus = 3
	BindingReleased  BindingStatus = 4
	BindingAbandoned BindingStatus = 5
	BindingReset     BindingStatus = 6
	BindingBackup    BindingStatus = 7
)

var bindingNames = [BindingBackup + 1]string{
	"", "FREE", "ACTIVE", "EXPIRED", "RELEASED", "ABANDONED", "RESET", "BACKUP",
}

// Valid reports whether b is one of the seven statuses of §12.3.
func (b BindingStatus) Valid() bool { return b >= BindingFree && b <= BindingBackup }

// String returns the draft's name ("ACTIVE") or "unknown (N)"; it never
// panics.
func (b BindingStatus) String() string {
	if b.Valid() {
		return bindingNames[b]
	}
	return "unknown (" + strconv.Itoa(int(b)) + ")"
}
