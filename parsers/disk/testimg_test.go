package disk

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
)

// TestFixtureContainers reads every committed container of every test image
// and compares it with the live output of the independent tool (ewfexport
// for EWF, qemu-img for VMDK/VHD/VHDX) and with the raw image itself.
func TestFixtureContainers(t *testing.T) {
	for _, image := range []string{"host1", "ewfseg", "gpt2", "ext3", "bare4"} {
		t.Run(image, func(t *testing.T) {
			cs := testimg.Containers(t, image)
			raw, err := os.ReadFile(cs[0].Path)
			if err != nil || cs[0].Format != "raw" {
				t.Fatalf("raw image: %v (%s)", err, cs[0].Format)
			}
			for _, c := range cs {
				t.Run(c.Format, func(t *testing.T) {
					img := openT(t, c.Path)
					var ref []byte
					switch {
					case strings.HasPrefix(c.Format, "e01"):
						ref = ewfRaw(t, c.Path)
					case strings.HasPrefix(c.Format, "vhd-"):
						ref = qemuRaw(t, c.Path, "-f", "vpc")
					case strings.HasPrefix(c.Format, "vmdk"), strings.HasPrefix(c.Format, "vhdx"):
						ref = qemuRaw(t, c.Path)
					default:
						ref = raw
					}
					if string(ref) != string(raw) {
						t.Fatalf("tool output for %s differs from %s.raw", c.Format, image)
					}
					compareImage(t, img, ref)
					if h := img.Hashes(); h != nil {
						res, err := Verify(t.Context(), img, nil)
						if err != nil || !res.OK() {
							t.Errorf("Verify = %+v, %v", res, err)
						}
					}
				})
			}
		})
	}
}

// TestFixtureVolumes compares Volumes() with mmls and fsstat on each raw
// test image with a partition table, and checks the bare volume.
func TestFixtureVolumes(t *testing.T) {
	for _, c := range []struct{ image, scheme, want string }{
		{"host1", "mbr", "1:1048576:ntfs"},
		{"ewfseg", "mbr", "1:1048576:ntfs"},
		{"gpt2", "gpt", "1:1048576:ntfs 2:9437184:fat32"},
		{"ext3", "mbr", "1:1048576:fat16 2:5242880: 5:6291456:ntfs 6:13631488:unknown"},
	} {
		t.Run(c.image, func(t *testing.T) {
			vols := checkVolumes(t, testimg.Path(t, c.image+".raw"), c.scheme)
			var got []string
			for _, v := range vols {
				got = append(got, strings.Join([]string{itoa(v.Index), itoa(int(v.Offset)), v.FS}, ":"))
			}
			if strings.Join(got, " ") != c.want {
				t.Errorf("volumes %s, want %s", strings.Join(got, " "), c.want)
			}
		})
	}
	t.Run("bare4", func(t *testing.T) {
		img := openT(t, testimg.Path(t, "bare4.raw"))
		vols, err := Volumes(img, img.Size())
		if err != nil || len(vols) != 1 || vols[0].Scheme != "none" || vols[0].FS != "ntfs" || vols[0].Skip != "" {
			t.Errorf("bare4: %+v, %v", vols, err)
		}
	})
}

func itoa(i int) string { return strconv.Itoa(i) }
