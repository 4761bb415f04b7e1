package testimg

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// archiveOf maps a fixture name to the archive that holds it.
func archiveOf(name string) string {
	if parts := strings.Split(name, "/"); len(parts) == 3 {
		return parts[0] + "/" + parts[1] + ".tar.bz2"
	}
	return name + ".bz2"
}

// TestChecksums extracts every archive and checks each file against
// SHA256SUMS (written by build.sh from the uncompressed images), and that an
// archive holds exactly the files SHA256SUMS lists for it.
func TestChecksums(t *testing.T) {
	sums := Sums(t)
	byArchive := map[string][]string{}
	for name := range sums {
		a := archiveOf(name)
		byArchive[a] = append(byArchive[a], name)
	}
	archives := make([]string, 0, len(byArchive))
	for a := range byArchive {
		archives = append(archives, a)
	}
	sort.Strings(archives)
	if len(archives) < 20 {
		t.Fatalf("only %d archives in SHA256SUMS", len(archives))
	}
	for _, a := range archives {
		names := byArchive[a]
		sort.Strings(names)
		// One subtest per archive so each TempDir is removed before the next.
		t.Run(a, func(t *testing.T) {
			var dir string
			for _, name := range names {
				p := Path(t, name)
				dir = filepath.Dir(p)
				if got := FileSHA256(t, p); got != sums[name] {
					t.Errorf("%s: sha256 %s, SHA256SUMS says %s", name, got, sums[name])
				}
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o444 {
					t.Errorf("%s: mode %v, want read-only 0444", name, fi.Mode().Perm())
				}
			}
			if strings.HasSuffix(a, ".tar.bz2") {
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, e := range entries {
					got = append(got, strings.TrimSuffix(a, ".tar.bz2")+"/"+e.Name())
				}
				if !reflect.DeepEqual(got, names) {
					t.Errorf("archive members %v, SHA256SUMS lists %v", got, names)
				}
			}
		})
	}
}

// TestNoUnlistedArchives: every committed .bz2 must be covered by SHA256SUMS.
func TestNoUnlistedArchives(t *testing.T) {
	sums := Sums(t)
	listed := map[string]bool{}
	for name := range sums {
		listed[archiveOf(name)] = true
	}
	root := ImagesDir(t)
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".bz2") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		n++
		if !listed[filepath.ToSlash(rel)] {
			t.Errorf("%s is not covered by SHA256SUMS", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(listed) {
		t.Errorf("%d archives on disk, %d named by SHA256SUMS", n, len(listed))
	}
}

func TestContainers(t *testing.T) {
	tests := []struct {
		image string
		want  []string // "format base-of-first-file"
	}{
		{"host1", []string{
			"raw host1.raw",
			"e01 host1.E01",
			"e01-split host1.E01",
			"split host1.001",
			"vhd-dynamic host1.vhd",
			"vhd-fixed host1.vhd",
			"vhdx-dynamic host1.vhdx",
			"vhdx-fixed host1.vhdx",
			"vmdk-monolithicFlat host1.vmdk",
			"vmdk-monolithicSparse host1.vmdk",
			"vmdk-streamOptimized host1.vmdk",
			"vmdk-twoGbMaxExtentFlat host1.vmdk",
			"vmdk-twoGbMaxExtentSparse host1.vmdk",
		}},
		{"ewfseg", []string{"raw ewfseg.raw", "e01-ewf ewfseg.e01", "e01-smart ewfseg.s01"}},
		{"gpt2", []string{"raw gpt2.raw", "vhdx-dynamic gpt2.vhdx"}},
		{"ext3", []string{"raw ext3.raw", "e01 ext3.E01"}},
		{"bare4", []string{"raw bare4.raw"}},
	}
	for _, tc := range tests {
		t.Run(tc.image, func(t *testing.T) {
			var got []string
			for _, c := range Containers(t, tc.image) {
				got = append(got, c.Format+" "+filepath.Base(c.Path))
				if _, err := os.Stat(c.Path); err != nil {
					t.Errorf("%s: %v", c.Format, err)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Containers(%q):\n got %q\nwant %q", tc.image, got, tc.want)
			}
		})
	}
}

func TestPathCachedWithinTest(t *testing.T) {
	a := Path(t, "bare4.raw")
	b := Path(t, "bare4.raw")
	if a != b {
		t.Errorf("second Path call extracted again: %s vs %s", a, b)
	}
	d := Dir(t, "host1/vmdk-monolithicFlat")
	if p := Path(t, "host1/vmdk-monolithicFlat/host1-flat.vmdk"); filepath.Dir(p) != d {
		t.Errorf("Path %s not inside Dir %s", p, d)
	}
}

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"host1.raw", true},
		{"host1/e01/host1.E01", true},
		{"", false},
		{"/etc/passwd", false},
		{"../x.raw", false},
		{"host1/../../x", false},
		{"host1//x", false},
		{`host1\e01`, false},
		{"./host1.raw", false},
	} {
		if err := checkName(tc.name); (err == nil) != tc.ok {
			t.Errorf("checkName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestParseSums(t *testing.T) {
	good := strings.Repeat("a", 64) + "  host1.raw\n\n" + strings.Repeat("b", 64) + "  host1/e01/host1.E01\n"
	got, err := parseSums([]byte(good))
	if err != nil || len(got) != 2 || got["host1.raw"] != strings.Repeat("a", 64) {
		t.Errorf("parseSums(good) = %v, %v", got, err)
	}
	for _, bad := range []string{"abc  x\n", strings.Repeat("a", 64) + " x\n", strings.Repeat("a", 64) + "  \n"} {
		if _, err := parseSums([]byte(bad)); err == nil {
			t.Errorf("parseSums(%q) accepted", bad)
		}
	}
}

// TestReferencesMatchTSK re-runs The Sleuth Kit on the extracted raw images
// and compares with the committed ground-truth files, so a stale reference
// cannot survive a rebuild of the images.
func TestReferencesMatchTSK(t *testing.T) {
	for _, tool := range []string{"fls", "mmls", "usnjls"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not installed")
		}
	}
	offsets := map[string]int{"host1": 2048, "ewfseg": 2048, "gpt2": 2048, "ext3": 12288, "bare4": 0}
	for image, off := range offsets {
		t.Run(image, func(t *testing.T) {
			raw := Path(t, image+".raw")
			var o []string
			if off != 0 {
				o = []string{"-o", strconv.Itoa(off)}
			}
			run := func(args ...string) []byte {
				cmd := exec.Command(args[0], args[1:]...)
				cmd.Env = append(os.Environ(), "TZ=UTC")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				return out
			}
			check := func(ref string, out []byte) {
				want, err := os.ReadFile(Reference(t, ref))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, want) {
					t.Errorf("%s differs from live TSK output (%d vs %d bytes)", ref, len(out), len(want))
				}
			}
			check(image+".fls.body", run(append(append([]string{"fls"}, o...), "-r", "-m", "C:", raw)...))
			if off != 0 {
				check(image+".mmls.txt", run("mmls", raw))
			}
			if image == "host1" {
				check(image+".usnjls.txt", run(append(append([]string{"usnjls"}, o...), "-l", raw)...))
			}
		})
	}
}
