package views

// WaitView is a wait step that waits for a request: its resume URL, shown
// with a copy button and a "Resume now" form.
type WaitView struct {
	Step string
	URL  string
}
