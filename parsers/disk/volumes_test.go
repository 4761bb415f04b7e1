package disk

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

type mmlsRow struct {
	start, length int64 // sectors
	desc          string
	meta          bool
}

var mmlsLine = regexp.MustCompile(`^\d+:\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(.*)$`)

func mmls(t *testing.T, path string) []mmlsRow {
	t.Helper()
	needTool(t, "mmls")
	var rows []mmlsRow
	for _, l := range strings.Split(run(t, "mmls", path), "\n") {
		m := mmlsLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil || m[1] == "-------" {
			continue
		}
		start, _ := strconv.ParseInt(m[2], 10, 64)
		length, _ := strconv.ParseInt(m[4], 10, 64)
		rows = append(rows, mmlsRow{start, length, strings.TrimSpace(m[5]), m[1] == "Meta"})
	}
	return rows
}

// fsstatType runs TSK's fsstat on a volume and returns its "File System
// Type" line ("" if TSK finds no file system).
func fsstatType(t *testing.T, path string, sector int64) string {
	needTool(t, "fsstat")
	out, _ := exec.Command("fsstat", "-o", strconv.FormatInt(sector, 10), path).CombinedOutput()
	m := regexp.MustCompile(`File System Type:\s*(\S+)`).FindSubmatch(out)
	if m == nil {
		return ""
	}
	return strings.ToLower(string(m[1]))
}

// checkVolumes compares Volumes() with mmls (offsets, lengths, GPT names)
// and the detected file systems with fsstat.
func checkVolumes(t *testing.T, rawPath string, wantScheme string) []Volume {
	t.Helper()
	img := openT(t, rawPath)
	vols, err := Volumes(img, img.Size())
	if err != nil {
		t.Fatal(err)
	}
	rows := mmls(t, rawPath)
	var data []Volume
	for _, v := range vols {
		if v.Scheme != wantScheme {
			t.Errorf("volume %+v: scheme %s, want %s", v, v.Scheme, wantScheme)
		}
		if v.Skip == "extended partition container" {
			found := false
			for _, r := range rows {
				found = found || (r.meta && strings.Contains(r.desc, "Extended (") && r.start*512 == v.Offset && r.length*512 == v.Size)
			}
			if !found {
				t.Errorf("extended container %+v not in mmls output %+v", v, rows)
			}
			continue
		}
		data = append(data, v)
	}
	var want []mmlsRow
	for _, r := range rows {
		if !r.meta {
			want = append(want, r)
		}
	}
	if len(data) != len(want) {
		t.Fatalf("Volumes found %d partitions, mmls %d:\n%+v\n%+v", len(data), len(want), data, want)
	}
	for i, v := range data {
		if v.Offset != want[i].start*512 || v.Size != want[i].length*512 {
			t.Errorf("partition %d: offset %d size %d; mmls %d+%d sectors", v.Index, v.Offset, v.Size, want[i].start, want[i].length)
		}
		if v.Scheme == "gpt" && v.Name != want[i].desc {
			t.Errorf("partition %d: name %q, mmls %q", v.Index, v.Name, want[i].desc)
		}
		tsk := fsstatType(t, rawPath, v.Offset/512)
		switch {
		case v.FS == "ntfs" || strings.HasPrefix(v.FS, "fat") || strings.HasPrefix(v.FS, "ext"):
			if tsk != v.FS {
				t.Errorf("partition %d: FS %s, fsstat %q", v.Index, v.FS, tsk)
			}
		case tsk != "" && tsk != "swap":
			t.Errorf("partition %d: FS %s but fsstat finds %q", v.Index, v.FS, tsk)
		}
		if (v.FS == "ntfs") != (v.Skip == "") {
			t.Errorf("partition %d: FS %s Skip %q", v.Index, v.FS, v.Skip)
		}
	}
	return vols
}

func TestVolumesCorpus(t *testing.T) {
	t.Run("tsk_volume_system", func(t *testing.T) {
		vols := checkVolumes(t, corpus(t, "raw/tsk_volume_system.raw"), "mbr")
		// GROUND_TRUTH_POINTERS: p1 at 512 (179,200 bytes), p5 at 180,224 (1,294,336 bytes).
		var got []string
		for _, v := range vols {
			got = append(got, fmt.Sprintf("%d@%d+%d", v.Index, v.Offset, v.Size))
		}
		if want := "1@512+179200 2@179712+1294848 5@180224+1294336"; strings.Join(got, " ") != want {
			t.Errorf("volumes %s, want %s", strings.Join(got, " "), want)
		}
	})
	t.Run("test.vhdx-gpt", func(t *testing.T) {
		dir := t.TempDir()
		raw := filepath.Join(dir, "test.raw")
		writeFile(t, raw, qemuRaw(t, unzipOne(t, corpus(t, "vhdx/test.vhdx.zip"), dir)))
		vols := checkVolumes(t, raw, "gpt")
		if len(vols) != 1 || vols[0].FS != "ntfs" || vols[0].Type != "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" {
			t.Errorf("volumes %+v", vols)
		}
	})
	bare := []struct{ rel, fs string }{
		{"ewf/test.ntfs.dd.E01", "ntfs"},
		{"ewf/partition_image.E01", "ntfs"},
		{"ewf/plaso-image.E01", "ext2"},
		{"vmdk/image.vmdk", "ext2"},
	}
	for _, c := range bare {
		t.Run(filepath.Base(c.rel), func(t *testing.T) {
			img := openT(t, corpus(t, c.rel))
			vols, err := Volumes(img, img.Size())
			if err != nil {
				t.Fatal(err)
			}
			if len(vols) != 1 || vols[0].Scheme != "none" || vols[0].FS != c.fs || vols[0].Size != img.Size() {
				t.Errorf("volumes %+v, want one bare %s volume", vols, c.fs)
			}
			// mmls finds no table on these (GROUND_TRUTH: "mmls fails").
			if out, err := exec.Command("mmls", corpus(t, c.rel)).CombinedOutput(); err == nil && bytes.Contains(out, []byte("Slot")) {
				t.Errorf("mmls found a table on a bare volume:\n%s", out)
			}
		})
	}
}

// buildDisk lays out partitions with sfdisk and formats them with mkfs
// tools on separate files that are then copied into place (no root).
func buildDisk(t *testing.T, sectors int64, script string, parts map[int64]func(path string, sectors int64)) string {
	needTool(t, "sfdisk")
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk.raw")
	if err := os.Truncate(writeFile(t, disk, nil), sectors*512); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sfdisk", "-q", "--no-reread", "--no-tell-kernel", disk)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	f, err := os.OpenFile(disk, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for start, mk := range parts {
		// the size is read back from the script line "start=N, size=M"
		m := regexp.MustCompile(fmt.Sprintf(`start=%d, size=(\d+)`, start)).FindStringSubmatch(script)
		n, _ := strconv.ParseInt(m[1], 10, 64)
		p := filepath.Join(dir, fmt.Sprintf("part%d", start))
		if err := os.Truncate(writeFile(t, p, nil), n*512); err != nil {
			t.Fatal(err)
		}
		mk(p, start)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(b, start*512); err != nil {
			t.Fatal(err)
		}
	}
	return disk
}

func mkntfs(t *testing.T) func(string, int64) {
	needTool(t, "mkntfs")
	return func(p string, start int64) {
		run(t, "mkntfs", "-F", "-Q", "-q", "-p", strconv.FormatInt(start, 10), "-H", "255", "-S", "63", "-L", "TEST", p)
	}
}
func mkfat16(t *testing.T) func(string, int64) {
	needTool(t, "mkfs.fat")
	return func(p string, _ int64) { run(t, "mkfs.fat", "-F", "16", "-s", "1", p) }
}
func mkext4(t *testing.T) func(string, int64) {
	needTool(t, "mke2fs")
	return func(p string, _ int64) { run(t, "mke2fs", "-q", "-F", "-t", "ext4", p) }
}
func mkswap(t *testing.T) func(string, int64) {
	needTool(t, "mkswap")
	return func(p string, _ int64) { run(t, "mkswap", p) }
}

func TestVolumesGenerated(t *testing.T) {
	t.Run("mbr-extended", func(t *testing.T) {
		disk := buildDisk(t, 81920, `label: dos
start=2048, size=16384, type=6
start=18432, size=16384, type=7
start=34816, size=47104, type=5
start=36864, size=8192, type=83
start=47104, size=4096, type=82
start=53248, size=4096, type=83
`, map[int64]func(string, int64){2048: mkfat16(t), 18432: mkntfs(t), 36864: mkext4(t), 47104: mkswap(t)})
		vols := checkVolumes(t, disk, "mbr")
		var got []string
		for _, v := range vols {
			got = append(got, fmt.Sprintf("%d:%s:%s", v.Index, v.Type, v.FS))
		}
		if want := "1:0x06:fat16 2:0x07:ntfs 3:0x05: 5:0x83:ext4 6:0x82:swap 7:0x83:unknown"; strings.Join(got, " ") != want {
			t.Errorf("got %s, want %s", strings.Join(got, " "), want)
		}
	})
	t.Run("gpt", func(t *testing.T) {
		disk := buildDisk(t, 65536, `label: gpt
start=2048, size=16384, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition"
start=18432, size=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="linux root ü"
start=26624, size=2048, type=E3C9E316-0B5C-4DB8-817D-F92DF00215AE, name="Microsoft reserved partition"
`, map[int64]func(string, int64){2048: mkntfs(t), 18432: mkext4(t)})
		vols := checkVolumes(t, disk, "gpt")
		var got []string
		for _, v := range vols {
			got = append(got, fmt.Sprintf("%d:%s:%s", v.Index, v.FS, v.Skip))
		}
		if want := "1:ntfs: 2:ext4:not NTFS: ext4 3:unknown:not NTFS: Microsoft reserved partition"; strings.Join(got, " ") != want {
			t.Errorf("got %s, want %s", strings.Join(got, " "), want)
		}
		// A damaged primary header falls back to the backup at the last LBA.
		b, _ := os.ReadFile(disk)
		b[512+20] ^= 0xff
		bad := writeFile(t, filepath.Join(t.TempDir(), "bad.raw"), b)
		img := openT(t, bad)
		v2, err := Volumes(img, img.Size())
		if err != nil || len(v2) != len(vols) || v2[0] != vols[0] {
			t.Errorf("with damaged primary GPT: %+v, %v", v2, err)
		}
	})
}

func TestDetectFSSignatures(t *testing.T) {
	mk := func(f func(b []byte)) []byte { b := make([]byte, 80<<10); f(b); return b }
	cases := []struct {
		name string
		b    []byte
		fs   string
	}{
		{"bitlocker", mk(func(b []byte) { copy(b[3:], "-FVE-FS-") }), "bitlocker"},
		{"exfat", mk(func(b []byte) { copy(b[3:], "EXFAT   ") }), "exfat"},
		{"refs", mk(func(b []byte) { copy(b[3:], "ReFS\x00\x00\x00\x00") }), "refs"},
		{"xfs", mk(func(b []byte) { copy(b, "XFSB") }), "xfs"},
		{"lvm", mk(func(b []byte) { copy(b[512:], "LABELONE"); copy(b[536:], "LVM2 001") }), "lvm"},
		{"btrfs", mk(func(b []byte) { copy(b[65600:], "_BHRfS_M") }), "btrfs"},
		{"ntfs-bad-bpb", mk(func(b []byte) { copy(b[3:], "NTFS    ") }), "ntfs"},
		{"zeros", mk(func([]byte) {}), "unknown"},
	}
	for _, c := range cases {
		fs, skip := detectFS(bytes.NewReader(c.b), 0, int64(len(c.b)))
		if fs != c.fs || skip == "" {
			t.Errorf("%s: detectFS = %s, %q", c.name, fs, skip)
		}
	}
}
