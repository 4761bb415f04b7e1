package disk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// Fixed partition-table identifiers keep the output reproducible.
const (
	defaultMBRID    = "0x464f4f54" // "FOOT"
	defaultGPTID    = "5E3C1A2B-0000-4000-8000-464F4F54484C"
	defaultPartUUID = "6A1D2C3B-0001-4000-8000-464F4F54484C"
	gptBasicData    = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
)

var (
	mbrIDRe = regexp.MustCompile(`^0x[0-9a-fA-F]{1,8}$`)
	guidRe  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// DiskSize is the size of the raw image Build writes for spec: the volume
// alone, or partition start + volume + 1 MiB (room for GPT's backup).
func DiskSize(spec *Spec) int64 {
	if spec.Scheme == "" {
		return spec.Size
	}
	return PartitionStart*512 + spec.Size + 1<<20
}

// sfdiskScript is the partition table as sfdisk input.
func sfdiskScript(spec *Spec) (string, error) {
	sectors := spec.Size / 512
	var b strings.Builder
	switch spec.Scheme {
	case "mbr":
		id := spec.DiskID
		if id == "" {
			id = defaultMBRID
		}
		if !mbrIDRe.MatchString(id) {
			return "", fmt.Errorf("MBR disk id %q: want 0x and up to 8 hex digits", id)
		}
		fmt.Fprintf(&b, "label: dos\nlabel-id: %s\nunit: sectors\nstart=%d, size=%d, type=7\n", id, PartitionStart, sectors)
	case "gpt":
		id, part := spec.DiskID, spec.PartUUID
		if id == "" {
			id = defaultGPTID
		}
		if part == "" {
			part = defaultPartUUID
		}
		if !guidRe.MatchString(id) || !guidRe.MatchString(part) {
			return "", fmt.Errorf("GPT ids %q / %q: want GUIDs", id, part)
		}
		fmt.Fprintf(&b, "label: gpt\nlabel-id: %s\nunit: sectors\nstart=%d, size=%d, type=%s, uuid=%s, name=\"Basic data partition\"\n",
			id, PartitionStart, sectors, gptBasicData, part)
	default:
		return "", fmt.Errorf("scheme %q", spec.Scheme)
	}
	return b.String(), nil
}

// writeImage turns the finished volume into outRaw (via a temporary name).
func writeImage(ctx context.Context, vol string, spec *Spec, outRaw string) error {
	tmp := outRaw + ".tmp"
	size := DiskSize(spec)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // after the rename this is a no-op
	err = f.Truncate(size)
	if err == nil && spec.Scheme != "" {
		err = partition(ctx, spec, tmp)
	}
	start := int64(0)
	if spec.Scheme != "" {
		start = PartitionStart * 512
	}
	if err == nil {
		err = sparseCopy(f, start, vol)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, outRaw)
}

func partition(ctx context.Context, spec *Spec, disk string) error {
	script, err := sfdiskScript(spec)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "sfdisk", "-q", "--no-reread", "--no-tell-kernel", disk)
	cmd.Stdin = strings.NewReader(script)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sfdisk: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// sparseCopy writes the non-zero 4 KiB blocks of src into dst at offset
// off; dst is already zero (truncated), so the holes stay holes.
func sparseCopy(dst *os.File, off int64, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	buf := make([]byte, 1<<20)
	zero := make([]byte, 4096)
	pos := int64(0)
	for {
		n, err := io.ReadFull(in, buf)
		for i := 0; i < n; i += 4096 {
			blk := buf[i:min(i+4096, n)]
			if !bytes.Equal(blk, zero[:len(blk)]) {
				if _, werr := dst.WriteAt(blk, off+pos+int64(i)); werr != nil {
					return werr
				}
			}
		}
		pos += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
