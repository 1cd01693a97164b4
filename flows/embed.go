// Package flows is the template gallery: example flow documents shipped with
// Hookflow, shown in the UI's "new flow from a template" and used by the README.
package flows

import "embed"

// FS holds every *.json example flow.
//
//go:embed *.json
var FS embed.FS
