package lnk

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
)

// TestGroundTruth checks the values EricZimmerman's Lnk tests and plaso's
// winlnk tests state for corpus files (GROUND_TRUTH_POINTERS, LNK
// section); where they differ from lnkinfo we follow lnkinfo and say so.
func TestGroundTruth(t *testing.T) {
	cases := []struct {
		file                           string
		local, network, relative       string
		serial                         uint32
		label, machine, mac, fileDroid string
		size                           uint32
		lastItem                       string
		mftEntry                       uint64
		uncHost                        string
	}{
		{file: "EricZimmerman-Lnk/Misc/remote.file.xp.test",
			network: `\\ALS-FICHIERS3\QUALITÉ\Archives\Méthodologie WAS\Norme de développement JAVA.doc`,
			machine: "als-fichiers3", mac: "00:0f:1f:f7:c0:dc", fileDroid: "ea461b34-9877-11da-80bd-000f1ff7c0dc",
			size: 325120, lastItem: "Norme de développement JAVA.doc", uncHost: "ALS-FICHIERS3"},
		// EZ's LocalPath is C:\Users\ (base path only); lnkinfo and we join
		// the common path suffix.
		{file: "EricZimmerman-Lnk/Misc/local.directory.seven.test",
			local: `C:\Users\Administrator`, relative: `..\..\Administrator`, serial: 0x502E1A8A, label: "SSD-WIN7",
			machine: "netbook", mac: "00:13:77:d3:4a:59", fileDroid: "136502ff-8c66-11df-b6eb-001377d34a59", uncHost: "NETBOOK"},
		{file: "EricZimmerman-Lnk/WinVista/Windows Update.lnk",
			local: `D:\Windows\System32\wuapp.exe`, relative: `..\..\..\..\Windows\System32\wuapp.exe`, serial: 0xD85CC709,
			label: "TestOS", machine: "lh-ixn3n2mx5l20", mac: "f1:53:4b:e4:3d:84", size: 33280, lastItem: "wuapp.exe", mftEntry: 39556},
		{file: "EricZimmerman-Lnk/WinXP/WordPad.lnk",
			local: `C:\Program Files\Windows NT\Accessories\wordpad.exe`, relative: `..\..\..\..\..\Program Files\Windows NT\Accessories\wordpad.exe`,
			serial: 0xE0F7E847, machine: "xppro", lastItem: "wordpad.exe"},
		{file: "plaso/NeroInfoTool.lnk",
			local: `C:\Program Files (x86)\Nero\Nero 9\Nero InfoTool\InfoTool.exe`, serial: 0x70ECFA33, label: "OS",
			size: 4635160, mac: "70:5a:b6:16:a5:f3", lastItem: "InfoTool.exe", mftEntry: 81349},
		{file: "plaso/unpaired_surrogate.lnk", serial: 0x2CA3D1AE, size: 11264},
	}
	root := filepath.Join(testimg.Corpus(t), "lnk")
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(root, c.file))
			if err != nil {
				t.Fatal(err)
			}
			l, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want any) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			if c.local != "" {
				check("local path", l.LocalPath(), c.local)
				check("target path", l.TargetPath(), c.local)
			}
			if c.network != "" {
				check("network path", l.NetworkPath(), c.network)
				check("target path", l.TargetPath(), c.network)
			}
			check("unc host", l.UNCHost(), c.uncHost)
			if c.relative != "" {
				check("relative path", l.RelativePath, c.relative)
			}
			check("serial", l.VolumeSerial, c.serial)
			check("label", l.VolumeLabel, c.label)
			if c.size != 0 {
				check("size", l.Size, c.size)
			}
			if c.machine != "" || c.mac != "" {
				if l.Tracker == nil {
					t.Fatal("no tracker block")
				}
				if c.machine != "" {
					check("machine id", l.Tracker.MachineID, c.machine)
				}
				if c.mac != "" {
					check("mac", l.Tracker.MAC, c.mac)
				}
				if c.fileDroid != "" {
					check("file droid", l.Tracker.FileDroid, c.fileDroid)
				}
			}
			if c.lastItem != "" {
				last := l.lastFile()
				if last == nil {
					t.Fatal("no file entry shell item")
				}
				check("last item", last.Name, c.lastItem)
				check("last item MFT entry", last.MFTEntry, c.mftEntry)
			}
			if len(l.Warnings) > 0 {
				t.Errorf("warnings: %v", l.Warnings)
			}
		})
	}
}

// TestBad runs the malformed corpus files: the recycle-bin $I record is
// rejected for its signature (as EZ Lnk and lnkinfo do); the ImDisk link,
// which EZ rejects and lnkinfo opens, decodes like lnkinfo decodes it.
func TestBad(t *testing.T) {
	root := filepath.Join(testimg.Corpus(t), "lnk", "Bad")
	for _, name := range []string{"$I2GXWHL.test", "$I2GXWHL.lnk"} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(b); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", name, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(root, "ImDisk Virtual Disk Driver.test"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(b); err != nil {
		t.Errorf("ImDisk: %v (lnkinfo opens it)", err)
	}
}
