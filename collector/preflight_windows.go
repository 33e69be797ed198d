package collector

import "os"

// ownedByRoot: Windows has no root, and no DynamicUser to warn about.
func ownedByRoot(os.FileInfo) bool { return false }
