package disk

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// maxSplitParts bounds segment discovery (".001".."999", "aa".."zz").
const maxSplitParts = 1000

// multiFile is a ReaderAt over files laid end to end (raw and split raw).
type multiFile struct {
	format string
	paths  []string
	files  []*os.File
	starts []int64 // starts[i] = virtual offset of files[i]; starts[len] = size
}

func openRaw(path string) (Image, error) { return openMulti("raw", []string{path}) }

func openSplit(path string) (Image, error) {
	parts := splitParts(path)
	if len(parts) < 2 {
		return openMulti("raw", []string{path})
	}
	return openMulti("split", parts)
}

func openMulti(format string, paths []string) (*multiFile, error) {
	m := &multiFile{format: format, paths: paths, starts: []int64{0}}
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_RDONLY, 0)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("%s %s: %w", format, p, err)
		}
		m.files = append(m.files, f)
		st, err := f.Stat()
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("%s %s: %w", format, p, err)
		}
		m.starts = append(m.starts, m.starts[len(m.starts)-1]+st.Size())
	}
	return m, nil
}

func (m *multiFile) Size() int64                 { return m.starts[len(m.starts)-1] }
func (m *multiFile) Format() string              { return m.format }
func (m *multiFile) Files() []string             { return append([]string(nil), m.paths...) }
func (m *multiFile) Hashes() map[string]string   { return nil }
func (m *multiFile) Metadata() map[string]string { return nil }

// closeAll closes every file of a container and returns the first error.
func closeAll(files []*os.File) error {
	var first error
	for _, f := range files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (m *multiFile) Close() error {
	err := closeAll(m.files)
	m.files = nil
	return err
}

func (m *multiFile) ReadAt(p []byte, off int64) (int, error) {
	return readAtBounded(p, off, m.Size(), m.fill)
}

func (m *multiFile) fill(p []byte, off int64) error {
	// The part holding off: the last start <= off (empty parts are skipped
	// because their start equals the next part's start).
	i := sort.Search(len(m.files), func(i int) bool { return m.starts[i+1] > off })
	for len(p) > 0 {
		if i >= len(m.files) {
			return fmt.Errorf("%s: read past last part at offset %d", m.format, off)
		}
		local := off - m.starts[i]
		n := int64(len(p))
		if rem := m.starts[i+1] - off; n > rem {
			n = rem
		}
		if _, err := m.files[i].ReadAt(p[:n], local); err != nil {
			return fmt.Errorf("%s %s at offset %d: %w", m.format, m.paths[i], local, err)
		}
		p, off, i = p[n:], off+n, i+1
	}
	return nil
}

// splitScheme describes one naming convention of split raw images.
type splitScheme struct {
	base  string // path without the extension, incl. the dot
	kind  byte   // 'n' numeric (.001), 'r' (.raw + .r01), 'a' alphabetic (.aa)
	width int
	upper bool
}

func parseSplit(path string) (splitScheme, int, bool) {
	ext := filepath.Ext(path)
	if len(ext) < 2 {
		return splitScheme{}, 0, false
	}
	base := path[:len(path)-len(ext)+1]
	e := ext[1:]
	upper := strings.ToUpper(e) == e && strings.ToLower(e) != e
	le := strings.ToLower(e)
	switch {
	case len(e) >= 3 && len(e) <= 4 && allDigits(e):
		n, _ := strconv.Atoi(e)
		if n < 1 {
			return splitScheme{}, 0, false
		}
		return splitScheme{base: base, kind: 'n', width: len(e)}, n - 1, true
	case le == "raw":
		return splitScheme{base: base, kind: 'r', upper: upper}, 0, true
	case len(e) == 3 && le[0] == 'r' && allDigits(e[1:]):
		n, _ := strconv.Atoi(e[1:])
		if n < 1 {
			return splitScheme{}, 0, false
		}
		return splitScheme{base: base, kind: 'r', upper: upper}, n, true
	case len(e) == 2 && le[0] >= 'a' && le[0] <= 'z' && le[1] >= 'a' && le[1] <= 'z':
		return splitScheme{base: base, kind: 'a', upper: upper}, int(le[0]-'a')*26 + int(le[1]-'a'), true
	}
	return splitScheme{}, 0, false
}

func (s splitScheme) name(i int) string {
	var e string
	switch s.kind {
	case 'n':
		e = fmt.Sprintf("%0*d", s.width, i+1)
	case 'r':
		if i == 0 {
			e = "raw"
		} else {
			e = fmt.Sprintf("r%02d", i)
		}
	case 'a':
		if i >= 26*26 {
			return ""
		}
		e = string([]byte{byte('a' + i/26), byte('a' + i%26)})
	}
	if s.upper {
		e = strings.ToUpper(e)
	}
	return s.base + e
}

func exists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// splitNext reports the i-th part (0 = first) of the split set path
// belongs to, if that part exists.
func splitNext(path string, i int) (string, bool) {
	s, _, ok := parseSplit(path)
	if !ok {
		return "", false
	}
	n := s.name(i)
	return n, n != "" && exists(n)
}

// isFirstSplit reports whether path is the first part of a set with at
// least two parts.
func isFirstSplit(path string) bool {
	_, idx, ok := parseSplit(path)
	if !ok || idx != 0 {
		return false
	}
	_, ok = splitNext(path, 1)
	return ok
}

// isSplitContinuation reports whether path is a later part of a split set
// whose first part exists.
func isSplitContinuation(path string) bool {
	s, idx, ok := parseSplit(path)
	return ok && idx > 0 && exists(s.name(0))
}

func splitParts(first string) []string {
	s, _, ok := parseSplit(first)
	if !ok {
		return []string{first}
	}
	parts := []string{first}
	for i := 1; i < maxSplitParts; i++ {
		n := s.name(i)
		if n == "" || !exists(n) {
			break
		}
		parts = append(parts, n)
	}
	return parts
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
