package evtx

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/foothold/foothold/parsers/event"
)

// FuzzParse feeds mutated EVTX files (the file header and first chunk of
// small corpus files) to Parse: it must not panic or hang, and what it
// emits must be well formed.
func FuzzParse(f *testing.F) {
	for _, rel := range []string{
		"other/omerbenamram-evtx/new-user-security.evtx",
		"other/omerbenamram-evtx/sample-with-zero-data-size-event.evtx",
		"other/omerbenamram-evtx/Security_with_size_t.evtx",
		"other/velociraptor/EID4103_PowershellModule.evtx",
		"EVTX-ATTACK-SAMPLES/Lateral Movement/LM_winrm_target_wrmlogs_91_wsmanShellStarted_poorLog.evtx",
		"other/velociraptor/RDPAuth_LocalSessionManager.evtx",
	} {
		b, err := os.ReadFile(corpusFile(f, rel))
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 4096+chunkSize {
			b = b[:4096+chunkSize]
		}
		f.Add(b)
	}
	discard := event.SinkFunc(func(e *event.Event) error {
		if e.Artifact != event.EVTX || len(e.Fields) < 10 {
			panic("malformed event")
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, _ := Parse(context.Background(), bytes.NewReader(b), int64(len(b)), discard)
		if st.Records < 0 || st.Errors < 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}
