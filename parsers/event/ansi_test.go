package event

import "testing"

// Expected values from Python's cp1252 codec (b'A\x80\x9f\xe9' is 'A€Ÿé');
// it rejects the undefined bytes, which follow the two readers' choices.
func TestWindows1252(t *testing.T) {
	for _, c := range []struct {
		in   string
		und  Undefined1252
		want string
	}{
		{"plain", KeepC1, "plain"},
		{"A\x80\x9f\xe9", KeepC1, "A€Ÿé"},
		{"A\x80\x9f\xe9", Replacement, "A€Ÿé"},
		{"\x81\x8d\x8f\x90\x9d", KeepC1, "\u0081\u008d\u008f\u0090\u009d"},
		{"\x81\x8d\x8f\x90\x9d", Replacement, "\ufffd\ufffd\ufffd\ufffd\ufffd"},
	} {
		if got := Windows1252([]byte(c.in), c.und); got != c.want {
			t.Errorf("Windows1252(%q, %v) = %q, want %q", c.in, c.und, got, c.want)
		}
	}
}
