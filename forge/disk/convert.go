package disk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// AcquiredAt is the clock ewfacquire runs under. The E01 header stores the
// acquisition date, so a fixed clock makes E01 output byte-reproducible.
const AcquiredAt = "2024-01-01 00:00:00"

// DefaultSplitSize is the piece size of "split" without a size.
const DefaultSplitSize = 4 << 20

// Convert writes raw into outDir in one container format and proves that
// the container decodes to exactly raw's bytes, returning the files written
// (first segment first). Files are named after raw without its extension.
//
//	raw          NAME.raw (sparse copy)
//	split[:SIZE] NAME.001, NAME.002, ... of SIZE bytes (K/M/G suffix; default 4M)
//	e01          NAME.E01, EnCase 6, deflate best, one segment
//	e01:N        NAME.E01 ... NAME.E0N, uncompressed so that N segments
//	             hold the data (libewf's minimum segment is 1 MiB)
//	vmdk         NAME.vmdk, monolithicSparse (qemu-img)
//	vhdx         NAME.vhdx, dynamic (qemu-img)
//
// Read-back: ewfexport for E01, qemu-img for VMDK and VHDX, a byte
// comparison for raw and split. E01 metadata is fixed (AcquiredAt, case,
// examiner, ...), so E01 files are reproducible; qemu-img writes random
// identifiers into VMDK (CID) and VHDX (GUIDs), so those differ per run
// while their decoded data does not.
func Convert(ctx context.Context, raw string, format string, outDir string) ([]string, error) {
	files, err := convert(ctx, raw, format, outDir)
	if err != nil {
		return nil, fmt.Errorf("convert %s to %s: %w", raw, format, err)
	}
	return files, nil
}

func convert(ctx context.Context, raw, format, outDir string) ([]string, error) {
	st, err := os.Stat(raw)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() == 0 || st.Size()%512 != 0 {
		return nil, fmt.Errorf("want a non-empty regular file whose size is a multiple of 512 (%d bytes)", st.Size())
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(raw), filepath.Ext(raw))
	base := filepath.Join(outDir, name)
	kind, arg, _ := strings.Cut(format, ":")
	tmp, err := os.MkdirTemp("", "forge-convert-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	switch kind {
	case "raw":
		if arg != "" {
			return nil, errors.New("raw takes no argument")
		}
		out := base + ".raw"
		if same(out, raw) {
			return nil, errors.New("output would overwrite the input")
		}
		if err := copySparse(raw, out, st.Size()); err != nil {
			return nil, err
		}
		return []string{out}, sameBytes(raw, out)
	case "split":
		size := int64(DefaultSplitSize)
		if arg != "" {
			if size, err = parseSize(arg); err != nil {
				return nil, err
			}
		}
		files, err := splitFile(raw, base, size)
		if err != nil {
			return nil, err
		}
		return files, sameBytes(raw, files...)
	case "e01":
		segments := 1
		if arg != "" {
			if segments, err = strconv.Atoi(arg); err != nil || segments < 1 || segments > 99 {
				return nil, fmt.Errorf("e01:%s: want 1-99 segments", arg)
			}
		}
		files, err := acquire(ctx, raw, base, st.Size(), segments)
		if err != nil {
			return nil, err
		}
		back := filepath.Join(tmp, "back")
		if err := run(ctx, nil, "ewfexport", "-u", "-q", "-f", "raw", "-t", back, files[0]); err != nil {
			return nil, err
		}
		return files, sameBytes(raw, back+".raw")
	case "vmdk", "vhdx":
		if arg != "" {
			return nil, fmt.Errorf("%s takes no argument", kind)
		}
		out, sub := base+".vmdk", "monolithicSparse"
		if kind == "vhdx" {
			out, sub = base+".vhdx", "dynamic"
		}
		os.Remove(out) // a stale file from an earlier run must not survive a failure
		if err := run(ctx, nil, "qemu-img", "convert", "-f", "raw", "-O", kind, "-o", "subformat="+sub, raw, out); err != nil {
			return nil, err
		}
		back := filepath.Join(tmp, "back.raw")
		if err := run(ctx, nil, "qemu-img", "convert", "-f", kind, "-O", "raw", out, back); err != nil {
			return nil, err
		}
		return []string{out}, sameBytes(raw, back)
	}
	return nil, fmt.Errorf("unknown format %q (raw, split[:SIZE], e01[:N], vmdk, vhdx)", format)
}

func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult || (n*mult)%512 != 0 {
		return 0, fmt.Errorf("size %q: want a positive multiple of 512 (K/M/G suffix allowed)", s)
	}
	return n * mult, nil
}

// run executes a tool in UTC; env adds variables.
func run(ctx context.Context, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if env == nil {
		env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	}
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		s := strings.TrimSpace(out.String())
		if len(s) > 400 {
			s = s[:400] + "..."
		}
		return fmt.Errorf("%s: %v: %s", name, err, s)
	}
	return nil
}

// acquire runs ewfacquire under the fixed clock. For N segments it picks
// the segment size: an even share of the data plus room for each
// segment's own sections, grown until libewf writes exactly N files.
func acquire(ctx context.Context, raw, base string, size int64, segments int) ([]string, error) {
	lib, err := fakeTimeLib()
	if err != nil {
		return nil, err
	}
	env := fakeEnv(lib, AcquiredAt)
	name := filepath.Base(base)
	args := []string{"-u", "-q", "-t", base, "-f", "encase6",
		"-C", name, "-D", name + " (Foothold forge)", "-e", "Foothold forge", "-E", name, "-N", "synthetic test image"}
	if segments == 1 {
		args = append(args, "-c", "deflate:best")
		removeSegments(base)
		if err := run(ctx, env, "ewfacquire", append(args, raw)...); err != nil {
			return nil, err
		}
		return segmentFiles(base, 1)
	}
	share := (size + int64(segments) - 1) / int64(segments)
	if share < 1<<20 {
		return nil, fmt.Errorf("%d bytes are too few for %d E01 segments (libewf's minimum segment is 1 MiB)", size, segments)
	}
	for slack := int64(64 << 10); slack <= share; slack *= 2 {
		removeSegments(base)
		a := append(append([]string{}, args...), "-c", "none", "-S", strconv.FormatInt(share+slack, 10), raw)
		if err := run(ctx, env, "ewfacquire", a...); err != nil {
			return nil, err
		}
		files, err := filepath.Glob(base + ".E[0-9][0-9]")
		if err != nil {
			return nil, err
		}
		if len(files) == segments {
			return segmentFiles(base, segments)
		}
		if len(files) < segments {
			break
		}
	}
	removeSegments(base)
	return nil, fmt.Errorf("no segment size gives exactly %d E01 segments for %d bytes", segments, size)
}

func removeSegments(base string) {
	files, _ := filepath.Glob(base + ".E[0-9][0-9]")
	for _, f := range files {
		os.Remove(f)
	}
}

func segmentFiles(base string, n int) ([]string, error) {
	files, err := filepath.Glob(base + ".E[0-9][0-9]")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	if len(files) != n {
		return nil, fmt.Errorf("ewfacquire wrote %d segments, want %d", len(files), n)
	}
	return files, nil
}

// splitFile cuts raw into base.001, base.002, ... of size bytes each.
func splitFile(raw, base string, size int64) ([]string, error) {
	old, _ := filepath.Glob(base + ".[0-9][0-9][0-9]")
	for _, f := range old {
		os.Remove(f)
	}
	in, err := os.Open(raw)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	var files []string
	for i := 1; ; i++ {
		if i > 999 {
			return nil, errors.New("more than 999 pieces; use a larger split size")
		}
		name := fmt.Sprintf("%s.%03d", base, i)
		out, err := os.Create(name)
		if err != nil {
			return nil, err
		}
		n, err := io.Copy(out, io.LimitReader(in, size))
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			os.Remove(name)
			break
		}
		files = append(files, name)
		if n < size {
			break
		}
	}
	return files, nil
}

func copySparse(src, dst string, size int64) error {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = sparseCopy(f, 0, src)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// sameBytes compares raw with the concatenation of parts.
func sameBytes(raw string, parts ...string) error {
	a, err := os.Open(raw)
	if err != nil {
		return err
	}
	defer a.Close()
	readers := make([]io.Reader, 0, len(parts))
	for _, p := range parts {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		readers = append(readers, f)
	}
	b := io.MultiReader(readers...)
	bufA, bufB := make([]byte, 1<<20), make([]byte, 1<<20)
	var off int64
	for {
		na, errA := io.ReadFull(a, bufA)
		nb, errB := io.ReadFull(b, bufB)
		if na != nb || !bytes.Equal(bufA[:na], bufB[:nb]) {
			i := 0
			for i < min(na, nb) && bufA[i] == bufB[i] {
				i++
			}
			return fmt.Errorf("read-back differs from %s at byte %d", raw, off+int64(i))
		}
		off += int64(na)
		endA := errors.Is(errA, io.EOF) || errors.Is(errA, io.ErrUnexpectedEOF)
		endB := errors.Is(errB, io.EOF) || errors.Is(errB, io.ErrUnexpectedEOF)
		if endA && endB {
			return nil
		}
		if errA != nil && !endA {
			return errA
		}
		if errB != nil && !endB {
			return errB
		}
	}
}
