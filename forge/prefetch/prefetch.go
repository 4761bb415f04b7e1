// Package prefetch writes Windows 10 Prefetch files (SCCA format version 30),
// optionally compressed with the MAM/LZXPRESS Huffman wrapper that
// Windows 10 puts around every .pf file.
//
// Layout follows libyal's "Windows Prefetch File (PF) format" description
// and real Windows 10 files (file information block of 212 bytes, i.e. the
// variant whose file metrics start at 0x128 and that stores the
// executable's NT path after the file name strings).
package prefetch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/foothold/foothold/forge/wire"
	"github.com/foothold/foothold/parsers/event"
)

// File is what one .pf file records about an executable.
type File struct {
	// Executable is the file name as Windows stores it in the header:
	// upper case, cut to 29 characters.
	Executable string
	// Path is the executable's NT device path, the string Windows hashes
	// for the file name (\DEVICE\HARDDISKVOLUME2\USERS\...\PSEXEC64.EXE).
	// Windows 10 stores it after the file name strings as well. Windows
	// 10 1903+ prints the \VOLUME{...} form in the file list, but the hash
	// is still taken over the \DEVICE\HARDDISKVOLUMEn form.
	Path     string
	RunCount uint32
	// RunTimes are the last run times, newest first, at most eight.
	RunTimes []event.FileTime
	// Files are the referenced file paths in the form Windows stores them
	// (\VOLUME{01d3096ba3a46863-2ca3d1ae}\WINDOWS\SYSTEM32\NTDLL.DLL).
	Files   []string
	Volumes []Volume
}

// Volume is one entry of the volumes information.
type Volume struct {
	DevicePath  string // \VOLUME{01d94fb1c8a1b2c3-5a1f30c2}
	Serial      uint32
	Created     event.FileTime
	Directories []string // full paths, same form as File.Files
}

const (
	version         = 30
	headerSize      = 84
	metricsOffset   = 0x128 // header + 212-byte file information
	metricSize      = 32
	traceChainSize  = 8
	volumeEntrySize = 96
	maxRunTimes     = 8
	maxExecChars    = 29
	// maxFiles keeps the structure far from the uint32 offsets' limits and
	// the MAM header's 16 MiB that readers accept (dependencies.md D17).
	maxFiles = 100000
)

// Hash is the prefetch hash of Windows Vista and later: 314159, times 37
// plus each byte of the upper-case UTF-16LE path, modulo 2^32. (Windows 8+
// computes the same value eight bytes at a time.) path should be the NT
// device path, \DEVICE\HARDDISKVOLUMEn\...; it is upper-cased here.
func Hash(path string) uint32 {
	h := uint32(314159)
	for _, u := range utf16.Encode([]rune(strings.ToUpper(path))) {
		h = h*37 + uint32(u&0xff)
		h = h*37 + uint32(u>>8)
	}
	return h
}

// executable is the header's executable name: upper case, cut to 29
// characters as Windows does.
func executable(name string) string {
	r := []rune(strings.ToUpper(name))
	if len(r) > maxExecChars {
		r = r[:maxExecChars]
	}
	return string(r)
}

// Name is the file name Windows gives the prefetch file.
func Name(f File) string {
	return fmt.Sprintf("%s-%08X.pf", executable(f.Executable), Hash(f.Path))
}

// Write writes f as a version 30 prefetch file. With compress it wraps the
// file in a MAM header and LZXPRESS Huffman stream, as Windows 10 does.
func Write(w io.Writer, f File, compress bool) error {
	data, err := build(f)
	if err != nil {
		return err
	}
	if compress {
		var hdr [8]byte
		copy(hdr[:], "MAM\x04")
		binary.LittleEndian.PutUint32(hdr[4:], uint32(len(data)))
		data = append(hdr[:], compressHuffman(data)...)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("prefetch %s: write: %w", Name(f), err)
	}
	return nil
}

func chars(s string) int { return len(utf16.Encode([]rune(s))) }

func pad8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// metricFlags mimics Windows: loaded images are flagged 0x100, data files
// (NLS tables, fonts, caches) 0x2.
func metricFlags(name string) uint32 {
	up := strings.ToUpper(name)
	for _, ext := range []string{".EXE", ".DLL", ".SYS", ".DRV", ".OCX", ".CPL", ".MUI"} {
		if strings.HasSuffix(up, ext) {
			return 0x100
		}
	}
	return 0x2
}

func build(f File) ([]byte, error) {
	name := executable(f.Executable)
	switch {
	case name == "":
		return nil, errors.New("prefetch: executable name is empty")
	case f.Path == "":
		return nil, fmt.Errorf("prefetch %s: executable path is empty (needed for the hash)", name)
	case len(f.RunTimes) > maxRunTimes:
		return nil, fmt.Errorf("prefetch %s: %d run times, at most %d are stored", name, len(f.RunTimes), maxRunTimes)
	case len(f.Files) > maxFiles:
		return nil, fmt.Errorf("prefetch %s: %d files, at most %d supported", name, len(f.Files), maxFiles)
	}
	for i := 1; i < len(f.RunTimes); i++ {
		if f.RunTimes[i] > f.RunTimes[i-1] {
			return nil, fmt.Errorf("prefetch %s: run times must be newest first (%d after %d)", name, i, i-1)
		}
	}
	le := binary.LittleEndian
	n := len(f.Files)
	buf := make([]byte, metricsOffset+n*metricSize+n*traceChainSize)

	// File name strings, then the executable's NT path.
	tracesOff := metricsOffset + n*metricSize
	namesOff := len(buf)
	var names []byte
	for i, fn := range f.Files {
		m := buf[metricsOffset+i*metricSize:]
		le.PutUint32(m[0:], uint32(i)) // first trace chain entry
		le.PutUint32(m[4:], 1)         // trace chain entries
		le.PutUint32(m[8:], 1)         // average
		le.PutUint32(m[12:], uint32(len(names)))
		le.PutUint32(m[16:], uint32(chars(fn)))
		le.PutUint32(m[20:], metricFlags(fn))
		t := buf[tracesOff+i*traceChainSize:]
		le.PutUint32(t[0:], 1) // blocks loaded
		t[4] = 0x02
		names = append(names, wire.UTF16Z(fn)...)
	}
	buf = append(buf, names...)
	execOff := len(buf)
	buf = append(buf, wire.UTF16Z(f.Path)...)
	buf = pad8(buf)

	// Volumes: fixed-size entries first, then each volume's strings.
	volOff := len(buf)
	vols := make([]byte, len(f.Volumes)*volumeEntrySize)
	for i, v := range f.Volumes {
		if v.DevicePath == "" {
			return nil, fmt.Errorf("prefetch %s: volume %d has no device path", name, i)
		}
		// vols grows below, so the entry is addressed by offset each time:
		// a slice of it would be left behind when append reallocates.
		e := i * volumeEntrySize
		le.PutUint32(vols[e+0:], uint32(len(vols)))
		le.PutUint32(vols[e+4:], uint32(chars(v.DevicePath)))
		le.PutUint64(vols[e+8:], uint64(v.Created))
		le.PutUint32(vols[e+16:], v.Serial)
		vols = pad8(append(vols, wire.UTF16Z(v.DevicePath)...))

		// File references: version 3, no entries (we know no MFT numbers).
		le.PutUint32(vols[e+20:], uint32(len(vols)))
		le.PutUint32(vols[e+24:], 16)
		var refs [16]byte
		le.PutUint32(refs[0:], 3)
		vols = append(vols, refs[:]...)

		le.PutUint32(vols[e+28:], uint32(len(vols)))
		le.PutUint32(vols[e+32:], uint32(len(v.Directories)))
		onVolume := 0
		for _, fn := range f.Files {
			if strings.HasPrefix(strings.ToUpper(fn), strings.ToUpper(v.DevicePath)) {
				onVolume++
			}
		}
		le.PutUint32(vols[e+36:], uint32(onVolume))
		le.PutUint32(vols[e+64:], uint32(len(v.Directories)))
		for _, d := range v.Directories {
			var l [2]byte
			le.PutUint16(l[:], uint16(chars(d)))
			vols = append(vols, l[:]...)
			vols = append(vols, wire.UTF16Z(d)...)
		}
		vols = pad8(vols)
	}
	buf = append(buf, vols...)

	// Header.
	le.PutUint32(buf[0:], version)
	copy(buf[4:], "SCCA")
	le.PutUint32(buf[8:], 0x11)
	le.PutUint32(buf[12:], uint32(len(buf)))
	exe := wire.UTF16Z(name)
	copy(buf[16:16+60], exe)
	le.PutUint32(buf[76:], Hash(f.Path))

	// File information.
	fi := buf[headerSize:]
	le.PutUint32(fi[0:], metricsOffset)
	le.PutUint32(fi[4:], uint32(n))
	le.PutUint32(fi[8:], uint32(tracesOff))
	le.PutUint32(fi[12:], uint32(n))
	le.PutUint32(fi[16:], uint32(namesOff))
	le.PutUint32(fi[20:], uint32(len(names)))
	le.PutUint32(fi[24:], uint32(volOff))
	le.PutUint32(fi[28:], uint32(len(f.Volumes)))
	le.PutUint32(fi[32:], uint32(len(vols)))
	for i, t := range f.RunTimes {
		le.PutUint64(fi[44+8*i:], uint64(t))
	}
	le.PutUint32(fi[116:], f.RunCount)
	// fi[124] stays zero: in the 224-byte variant it is the run count, and
	// go-prefetch reads it first, falling back to fi[116] only when zero.
	le.PutUint32(fi[128:], uint32(execOff))
	// Windows records the path's byte length plus 4.
	le.PutUint32(fi[132:], uint32(2*chars(f.Path)+4))

	if len(buf) > 16<<20 {
		return nil, fmt.Errorf("prefetch %s: %d bytes, over the 16 MiB readers accept", name, len(buf))
	}
	return buf, nil
}
