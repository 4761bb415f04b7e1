package timeline

import (
	"context"
	"fmt"
	"testing"

	"github.com/foothold/foothold/parsers/event"
)

// A child process joins its parent file's story (through parent_process)
// but lends it neither its path nor its hashes; a name with parentheses
// is searched as a literal.
func TestFileStoryKeepsOwnPathsAndHashes(t *testing.T) {
	const setup, child = `C:\Users\a\Downloads\setup (1).exe`, `C:\ProgramData\TPM\TpmVscMgrSvr.exe`
	c := logCase(t, []*event.Event{
		(&event.Event{Artifact: event.EVTX, Type: "1", Path: setup, Message: "Process " + setup + " started"}).
			Add("process", setup).Add("sha256", "AA"+fmt.Sprintf("%062d", 0)),
		(&event.Event{Artifact: event.EVTX, Type: "1", Path: child, Message: "Process " + child + " started, parent " + setup}).
			Add("process", child).Add("parent_process", setup).Add("sha256", "BB"+fmt.Sprintf("%062d", 0)),
		(&event.Event{Artifact: event.EVTX, Type: "1", Path: `C:\Other\setup (1).exe`, Message: `Process C:\Other\setup (1).exe started`}).
			Add("process", `C:\Other\setup (1).exe`),
	})
	st, err := c.File(context.Background(), setup)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Events) != 2 {
		t.Errorf("%d events, want the file's own and its child's", len(st.Events))
	}
	if fmt.Sprint(st.Paths) != fmt.Sprint([]string{setup}) {
		t.Errorf("paths %q, want only %q", st.Paths, setup)
	}
	if st.Hashes["sha256"] != "aa"+fmt.Sprintf("%062d", 0) {
		t.Errorf("sha256 %q, want the file's, not the child's", st.Hashes["sha256"])
	}
}
