package bench

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// imageGenVersion keys the cached image: bump it whenever the layout below
// changes, so a stale image is never measured under new numbers.
const imageGenVersion = "v1"

// The large image: a 2 GiB NTFS volume behind an MBR, partition at sector
// 2048, filled through one ntfs-3g mount. Sizes are chosen so that process
// start-up is noise next to the work (fls takes seconds, not milliseconds).
const (
	imgPartSector = 2048
	imgVolSize    = 2 << 30
	imgTopDirs    = 60
	imgSubDirs    = 50 // per top directory: 3,000 leaf directories
	imgFiles      = 80_000
	imgDeleteStep = 37 // every 37th file is deleted afterwards
	imgDeleteDirs = 10 // and this many whole leaf directories
)

// benchImage describes a generated image; it is stored beside the image as
// JSON so later runs know what they measure without regenerating it.
type benchImage struct {
	Path         string  `json:"-"`
	Version      string  `json:"version"`
	SectorOffset int64   `json:"sector_offset"`
	Dirs         int     `json:"dirs"`
	Files        int     `json:"files"`
	ADS          int     `json:"ads"`
	DeletedFiles int     `json:"deleted_files"`
	DeletedDirs  int     `json:"deleted_dirs"`
	GenSeconds   float64 `json:"gen_seconds"`
}

// largeImage returns the cached large image, generating it on first use.
// It skips (the only reason to) when root, FUSE or the ntfs-3g tools are
// missing.
func largeImage(tb testing.TB) benchImage {
	tb.Helper()
	dir := cacheDir(tb)
	path := filepath.Join(dir, "ntfs-large-"+imageGenVersion+".raw")
	meta := path + ".json"
	if b, err := os.ReadFile(meta); err == nil {
		var im benchImage
		if err := json.Unmarshal(b, &im); err == nil && im.Version == imageGenVersion {
			if _, err := os.Stat(path); err == nil {
				im.Path = path
				return im
			}
		}
	}
	if os.Geteuid() != 0 {
		tb.Skip("generating the large NTFS image needs root (ntfs-3g FUSE mount)")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		tb.Skip("generating the large NTFS image needs /dev/fuse")
	}
	for _, tool := range []string{"mkntfs", "ntfs-3g", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("generating the large NTFS image needs %s (package ntfs-3g)", tool)
		}
	}
	tb.Logf("generating %s (once; cached, keyed by generator %s)", path, imageGenVersion)
	im, err := generateImage(path)
	if err != nil {
		tb.Fatalf("generating the large NTFS image: %v", err)
	}
	b, _ := json.MarshalIndent(im, "", "  ")
	if err := os.WriteFile(meta, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	im.Path = path
	tb.Logf("generated in %.0fs: %d dirs, %d files, %d ADS, %d files and %d dirs deleted",
		im.GenSeconds, im.Dirs, im.Files, im.ADS, im.DeletedFiles, im.DeletedDirs)
	return im
}

func generateImage(out string) (im benchImage, err error) {
	start := time.Now()
	work, err := os.MkdirTemp(filepath.Dir(out), "gen-")
	if err != nil {
		return im, err
	}
	defer os.RemoveAll(work)
	vol := filepath.Join(work, "vol.img")
	mnt := filepath.Join(work, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		return im, err
	}
	f, err := os.Create(vol)
	if err != nil {
		return im, err
	}
	if err := f.Truncate(imgVolSize); err != nil {
		f.Close()
		return im, err
	}
	f.Close()
	env := append(os.Environ(), "TZ=UTC")
	mk := exec.Command("mkntfs", "-F", "-Q", "-q", "-s", "512", "-c", "4096",
		"-p", strconv.Itoa(imgPartSector), "-L", "FHBENCH", vol)
	mk.Env = env
	if b, err := mk.CombinedOutput(); err != nil {
		return im, fmt.Errorf("mkntfs: %v: %s", err, b)
	}

	// no_detach: ntfs-3g is our child, so after umount we can wait for it
	// to finish flushing (test-images.md §4.1).
	var log strings.Builder
	mount := exec.Command("ntfs-3g", "-o", "no_detach,noatime,streams_interface=windows", vol, mnt)
	mount.Env = env
	mount.Stdout, mount.Stderr = &log, &log
	if err := mount.Start(); err != nil {
		return im, fmt.Errorf("ntfs-3g: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- mount.Wait() }()
	mounted := false
	defer func() {
		if mounted {
			if b, uerr := exec.Command("umount", mnt).CombinedOutput(); uerr != nil && err == nil {
				err = fmt.Errorf("umount: %v: %s", uerr, b)
			}
		}
		if werr := <-exited; werr != nil && err == nil {
			err = fmt.Errorf("ntfs-3g: %v: %s", werr, log.String())
		}
	}()
	for i := 0; !mounted; i++ {
		select {
		case werr := <-exited:
			exited <- werr
			return im, fmt.Errorf("ntfs-3g exited before mounting: %v: %s", werr, log.String())
		case <-time.After(50 * time.Millisecond):
		}
		mounted = isMountPoint(mnt)
		if i > 400 {
			return im, fmt.Errorf("ntfs-3g did not mount %s within 20 s", vol)
		}
	}

	im = benchImage{Version: imageGenVersion, SectorOffset: imgPartSector}
	if err := populate(mnt, &im); err != nil {
		return im, err
	}
	if b, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
		return im, fmt.Errorf("umount: %v: %s", err, b)
	}
	mounted = false
	if werr := <-exited; werr != nil {
		return im, fmt.Errorf("ntfs-3g: %v: %s", werr, log.String())
	}
	exited <- nil

	if err := writeMBRDisk(vol, out+".tmp"); err != nil {
		return im, err
	}
	if err := os.Rename(out+".tmp", out); err != nil {
		return im, err
	}
	im.GenSeconds = time.Since(start).Seconds()
	return im, nil
}

func isMountPoint(p string) bool {
	var a, b syscall.Stat_t
	if syscall.Stat(p, &a) != nil || syscall.Stat(filepath.Dir(p), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}

// nameRunes gives file names of mixed scripts, so UTF-16 conversion and
// path assembly do real work in both tools.
var nameRunes = []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.()éüßЖдж日本語")

var nameExts = []string{".txt", ".dll", ".exe", ".log", ".dat", ".json", "", ".lnk", ".pf", ".evtx"}

// populate writes the tree through the mount. It is deterministic (fixed
// seed) apart from the times ntfs-3g stamps, which nothing here compares.
func populate(root string, im *benchImage) error {
	rng := rand.New(rand.NewPCG(2026, imgFiles))
	var leaves []string
	for t := 0; t < imgTopDirs; t++ {
		top := filepath.Join(root, fmt.Sprintf("Top%02d %s", t, randName(rng, 1+rng.IntN(20))))
		if err := os.Mkdir(top, 0o755); err != nil {
			return err
		}
		im.Dirs++
		for s := 0; s < imgSubDirs; s++ {
			leaf := filepath.Join(top, fmt.Sprintf("%s_%d", randName(rng, 1+rng.IntN(40)), s))
			if err := os.Mkdir(leaf, 0o755); err != nil {
				return err
			}
			im.Dirs++
			leaves = append(leaves, leaf)
		}
	}
	filler := make([]byte, 64<<10)
	for i := range filler {
		filler[i] = byte(rng.UintN(256))
	}
	var files []string
	for i := 0; i < imgFiles; i++ {
		// Name lengths: mostly short, a tail up to 200 characters.
		n := 1 + rng.IntN(24)
		if i%10 == 0 {
			n = 25 + rng.IntN(176)
		}
		name := randName(rng, n) + "~" + strconv.FormatInt(int64(i), 36) + nameExts[i%len(nameExts)]
		p := filepath.Join(leaves[i%len(leaves)], name)
		size := rng.IntN(600) // resident $DATA
		if i%50 == 0 {
			size = 8<<10 + rng.IntN(56<<10) // non-resident, a few clusters
		}
		if err := os.WriteFile(p, filler[:size], 0o644); err != nil {
			return fmt.Errorf("file %d: %w", i, err)
		}
		im.Files++
		if i%100 == 7 {
			if err := os.WriteFile(p+":Zone.Identifier", []byte("[ZoneTransfer]\r\nZoneId=3\r\n"), 0o644); err != nil {
				return fmt.Errorf("ADS of file %d: %w", i, err)
			}
			im.ADS++
		}
		files = append(files, p)
	}
	// Deletions last, so no later create reuses a deleted entry.
	gone := map[string]bool{}
	for d := 0; d < imgDeleteDirs; d++ {
		leaf := leaves[(d*293+11)%len(leaves)]
		if err := os.RemoveAll(leaf); err != nil {
			return err
		}
		gone[leaf] = true
		im.DeletedDirs++
	}
	for i := 3; i < len(files); i += imgDeleteStep {
		if gone[filepath.Dir(files[i])] {
			continue
		}
		if err := os.Remove(files[i]); err != nil {
			return err
		}
		im.DeletedFiles++
	}
	return nil
}

func randName(rng *rand.Rand, n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteRune(nameRunes[rng.IntN(len(nameRunes))])
	}
	// Windows forbids trailing dots and spaces; keep names Windows-valid.
	return strings.TrimRight(sb.String(), ". ") + "n"
}

// writeMBRDisk puts the volume behind a one-partition MBR at
// imgPartSector, copying only non-zero blocks so the disk stays sparse.
func writeMBRDisk(vol, out string) error {
	in, err := os.Open(vol)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	defer o.Close()
	base := int64(imgPartSector) * 512
	if err := o.Truncate(base + fi.Size()); err != nil {
		return err
	}
	mbr := make([]byte, 512)
	binary.LittleEndian.PutUint32(mbr[440:], 0x464f4f54) // disk id
	e := mbr[446:462]
	copy(e[1:4], []byte{0xfe, 0xff, 0xff}) // CHS unused: LBA only
	e[4] = 0x07                            // NTFS/exFAT
	copy(e[5:8], []byte{0xfe, 0xff, 0xff})
	binary.LittleEndian.PutUint32(e[8:], imgPartSector)
	binary.LittleEndian.PutUint32(e[12:], uint32(fi.Size()/512))
	mbr[510], mbr[511] = 0x55, 0xaa
	if _, err := o.WriteAt(mbr, 0); err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for off := int64(0); ; off += int64(len(buf)) {
		n, err := in.ReadAt(buf, off)
		if n > 0 && !allZero(buf[:n]) {
			if _, werr := o.WriteAt(buf[:n], base+off); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return o.Sync()
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
