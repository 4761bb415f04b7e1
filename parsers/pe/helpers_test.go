package pe

import (
	"bytes"
	"context"
	"crypto/md5"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	saferwall "github.com/saferwall/pe"

	"github.com/foothold/foothold/parsers/event"
)

// peCorpus lists the PE-like files under corpus/pe (the catalog too: it
// must be refused cleanly).
func peCorpus(t testing.TB) []string {
	root := filepath.Join(testimg.Corpus(t), "pe")
	out := testimg.CorpusFiles(t, "pe", func(rel string) bool { return !strings.Contains(rel, "golden") })
	if len(out) == 0 {
		t.Fatal("no PE files in the corpus")
	}
	for i, rel := range out {
		out[i] = filepath.Join(root, rel)
	}
	return out
}

func need(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skip(tool + " not installed")
	}
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func inspectBytes(t *testing.T, b []byte) *Info {
	t.Helper()
	info, err := Inspect(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	return info
}

// ossVerdict is what `osslsigncode verify` says about a file.
type ossVerdict struct {
	unsigned                        bool
	alg, current, calculated        string
	subject, issuer, serial, tsTime string
	signingTime                     string
	out                             string
}

var (
	reAlg     = regexp.MustCompile(`Message digest algorithm\s*:\s*(\S+)`)
	reCur     = regexp.MustCompile(`Current message digest\s*:\s*([0-9A-F]+)`)
	reCalc    = regexp.MustCompile(`Calculated message digest\s*:\s*([0-9A-F]+)`)
	reSigner  = regexp.MustCompile(`Signer #0:\s*\n\s*Subject: (.*)\n\s*Issuer : (.*)\n\s*Serial : ([0-9A-F]+)`)
	reTS      = regexp.MustCompile(`Timestamp time: (.*)`)
	reSignTim = regexp.MustCompile(`Signing time: (.*)`)
)

func ossVerify(t *testing.T, path string, caFile string) ossVerdict {
	t.Helper()
	args := []string{"verify", "-in", path}
	if caFile != "" {
		args = append(args, "-CAfile", caFile)
	}
	out, _ := exec.Command("osslsigncode", args...).CombinedOutput()
	s := string(out)
	v := ossVerdict{out: s, unsigned: strings.Contains(s, "No signature found")}
	get := func(re *regexp.Regexp) string {
		if m := re.FindStringSubmatch(s); m != nil {
			return strings.TrimSpace(m[1])
		}
		return ""
	}
	v.alg, v.current, v.calculated = get(reAlg), get(reCur), get(reCalc)
	v.tsTime, v.signingTime = get(reTS), get(reSignTim)
	if m := reSigner.FindStringSubmatch(s); m != nil {
		v.subject, v.issuer, v.serial = m[1], m[2], m[3]
	}
	return v
}

// slashDN turns our "C=US, O=X" into osslsigncode's "/C=US/O=X".
func slashDN(s string) string {
	if s == "" {
		return ""
	}
	return "/" + strings.ReplaceAll(s, ", ", "/")
}

// saferwallAuthentihash is the test oracle dependencies.md recommends.
func saferwallAuthentihash(t *testing.T, b []byte) string {
	t.Helper()
	f, err := saferwall.NewBytes(b, &saferwall.Options{Fast: false})
	if err != nil {
		t.Fatalf("saferwall: %v", err)
	}
	if err := f.Parse(); err != nil {
		t.Fatalf("saferwall parse: %v", err)
	}
	return strings.ToLower(bytesHex(f.Authentihash()))
}

func bytesHex(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func collect(t *testing.T, name string, b []byte) ([]event.Event, Stats, error) {
	t.Helper()
	var evs []event.Event
	st, err := Parse(context.Background(), name, bytes.NewReader(b), int64(len(b)), event.SinkFunc(func(e *event.Event) error {
		c := *e
		c.Fields = append([]event.Field(nil), e.Fields...)
		evs = append(evs, c)
		return nil
	}))
	return evs, st, err
}

func field(e event.Event, k string) any {
	v, _ := e.Get(k)
	return v
}

func md5Sum(s string) [16]byte { return md5.Sum([]byte(s)) }
